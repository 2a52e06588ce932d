/**
 * `cdc schemas subjects|versions|get`: schema registry look-ups through the
 * Confluent REST API (Confluent, Apicurio's ccompat, Karapace, Redpanda).
 *
 * @module
 */
import { Command } from "commander";
import { print, subcommand } from "../command.ts";
import { logger } from "../../util/log.ts";
import { jsonOption, type RegistryOptions, registryOptions } from "../options/common.ts";
import { duration, envOption, integer } from "../options/option.ts";
import { RegistryClient } from "../../avro/registry.ts";

interface SchemasOptions extends RegistryOptions {
  timeout: number;
  json?: boolean;
}

const log = logger("schemas");

/** The `schemas` command and its subcommands. */
export function schemasCommand(): Command {
  const command = new Command("schemas")
    .description("look up schemas in the registry (Confluent REST API)");
  const add = (sub: Command) => {
    for (const option of registryOptions()) sub.addOption(option);
    sub.addOption(envOption({
      flags: "--timeout <duration>",
      description: "how long to retry while the registry does not answer",
      env: "CDC_REGISTRY_TIMEOUT",
      default: "30s",
      parse: duration,
    }));
    command.addCommand(sub);
    return sub;
  };

  add(subcommand<SchemasOptions>("subjects", "list subjects, one per line", async (options) => {
    const subjects = (await client(options).subjects()).sort();
    print(options.json ? JSON.stringify(subjects, null, 2) : subjects.join("\n"));
  })).addOption(jsonOption("print a JSON array"));

  add(
    subcommand<SchemasOptions>(
      "versions",
      "list a subject's versions with their schema ids",
      async (options, cmd) => {
        const subject = cmd.args[0];
        const registry = client(options);
        const versions = await registry.versions(subject);
        const details = await Promise.all(versions.map((v) => registry.subjectVersion(subject, v)));
        const rows = details.map(({ version, id }) => ({ version, id }));
        print(
          options.json
            ? JSON.stringify(rows, null, 2)
            : rows.map((r) => `version ${r.version}: schema id ${r.id}`).join("\n"),
        );
      },
    ),
  ).argument("<subject>", "e.g. dbserver1.inventory.customers-value")
    .addOption(jsonOption("print a JSON array of {version, id}"));

  add(
    subcommand<SchemasOptions>(
      "get",
      "print the schema with this id, pretty-printed",
      async (options, cmd) => {
        const id = cmd.processedArgs[0] as number;
        const registered = await client(options).schemaById(id);
        for (const ref of registered.references ?? []) {
          log.info(`references ${ref.name}: subject ${ref.subject} version ${ref.version}`);
        }
        let schema: unknown = registered.schema;
        try {
          schema = JSON.parse(registered.schema);
        } catch { /* not JSON (e.g. Protobuf): printed as is */ }
        print(typeof schema === "string" ? schema : JSON.stringify(schema, null, 2));
      },
    ),
  ).argument("<id>", "schema id, as in bytes 1-4 of a Confluent-framed record", integer(0));
  return command;
}

function client(options: SchemasOptions): RegistryClient {
  return new RegistryClient(options.registryUrl, { retryTimeoutMs: options.timeout });
}
