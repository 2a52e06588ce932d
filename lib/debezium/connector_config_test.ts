import assert from "node:assert/strict";
import {
  type ConnectorSettings,
  converterRegistryUrl,
  debeziumConnectorConfig,
  defaultHistoryTopic,
  legalTopicName,
  parseConnectorRegistration,
  redactConnectorConfig,
} from "./connector_config.ts";

const settings: ConnectorSettings = {
  name: "inventory-connector",
  flavour: "mysql",
  hostname: "mysql",
  port: 3306,
  user: "debezium",
  password: "dbz",
  serverId: 184054,
  topicPrefix: "dbserver1",
  databases: ["inventory"],
  bootstrapServers: "kafka:9092",
  historyTopic: "dbhistory.inventory",
  converter: "apicurio",
  converterRegistryUrl: "http://registry:8080/apis/registry/v3",
  snapshotMode: "initial",
};

Deno.test("debeziumConnectorConfig: the seed's settings, _cdc tables excluded, Confluent framing", () => {
  const config = debeziumConnectorConfig(settings);
  assert.equal(config["connector.class"], "io.debezium.connector.mysql.MySqlConnector");
  assert.equal(config["database.server.id"], "184054");
  assert.equal(
    config["table.exclude.list"],
    "inventory\\..*_cdc,inventory\\..*_mirror,inventory\\..*_scd2,inventory\\.__cdc_.*",
  );
  assert.equal(config["table.include.list"], undefined);
  assert.equal(
    config["value.converter.apicurio.registry.id-handler"],
    "io.apicurio.registry.serde.Default4ByteIdHandler",
  );
  assert.ok(Object.values(config).every((v) => typeof v === "string"));
});

Deno.test("debeziumConnectorConfig: --set wins; a table list replaces the exclusion", () => {
  const config = debeziumConnectorConfig({
    ...settings,
    databases: ["shop.eu"],
    tables: ["shop\\.eu\\.orders"],
    extra: { "decimal.handling.mode": "string", "tasks.max": "2" },
  });
  assert.equal(config["database.include.list"], "shop\\.eu");
  assert.equal(config["table.include.list"], "shop\\.eu\\.orders");
  assert.equal(config["table.exclude.list"], undefined);
  assert.equal(config["decimal.handling.mode"], "string");
  assert.equal(config["tasks.max"], "2");
});

Deno.test("debeziumConnectorConfig: Confluent's converter takes the registry URL as is", () => {
  const config = debeziumConnectorConfig({
    ...settings,
    converter: "confluent",
    converterRegistryUrl: "http://sr:8081",
  });
  assert.equal(config["key.converter"], "io.confluent.connect.avro.AvroConverter");
  assert.equal(config["key.converter.schema.registry.url"], "http://sr:8081");
});

Deno.test("debeziumConnectorConfig: Confluent's converter keeps an explicit NULL; --set overrides", () => {
  const confluent = { ...settings, converter: "confluent" as const, converterRegistryUrl: "x" };
  const config = debeziumConnectorConfig(confluent);
  assert.equal(config["key.converter.ignore.default.for.nullables"], "true");
  assert.equal(config["value.converter.ignore.default.for.nullables"], "true");
  const overridden = debeziumConnectorConfig({
    ...confluent,
    extra: { "value.converter.ignore.default.for.nullables": "false" },
  });
  assert.equal(overridden["value.converter.ignore.default.for.nullables"], "false");
});

Deno.test("legalTopicName: Debezium's adjustment of topic names", () => {
  assert.equal(defaultHistoryTopic("Shop-Data x"), "dbhistory.Shop-Data_x");
  assert.equal(defaultHistoryTopic("inventory"), "dbhistory.inventory");
  assert.equal(legalTopicName("a.b_c-D9"), "a.b_c-D9");
  assert.equal(legalTopicName("Ünï/`x`;"), "_n___x__");
  assert.equal(legalTopicName("x".repeat(300)), "x".repeat(249));
  assert.equal(legalTopicName("."), "_");
  assert.equal(legalTopicName(".."), "__");
});

Deno.test("converterRegistryUrl: Apicurio's native API from its Confluent API URL", () => {
  assert.equal(
    converterRegistryUrl("apicurio", "http://r:8080/apis/ccompat/v7"),
    "http://r:8080/apis/registry/v3",
  );
  assert.equal(converterRegistryUrl("confluent", "http://sr:8081"), "http://sr:8081");
  assert.throws(
    () => converterRegistryUrl("apicurio", "http://sr:8081"),
    /--converter-registry-url/,
  );
});

Deno.test("parseConnectorRegistration: {name, config} or a bare config; values as strings", () => {
  const wrapped = parseConnectorRegistration(
    JSON.stringify({ name: "c1", config: { "connector.class": "X", "tasks.max": 1 } }),
    "f.json",
  );
  assert.deepEqual(wrapped, {
    name: "c1",
    config: { "connector.class": "X", "tasks.max": "1", name: "c1" },
  });
  const bare = parseConnectorRegistration(
    JSON.stringify({ name: "c2", "connector.class": "X" }),
    "f.json",
  );
  assert.equal(bare.name, "c2");
});

Deno.test("parseConnectorRegistration: says what is wrong and where", () => {
  assert.throws(() => parseConnectorRegistration("{", "f.json"), /f\.json is not JSON/);
  assert.throws(
    () => parseConnectorRegistration("{}", "f.json"),
    /f\.json: the connector has no "name"/,
  );
  assert.throws(
    () => parseConnectorRegistration('{"name":"c","connector.class":"X","a":{}}', "f.json"),
    /"a" must be a string/,
  );
  assert.throws(
    () => parseConnectorRegistration('{"name":"c"}', "f.json"),
    /"connector.class" is missing/,
  );
});

Deno.test("redactConnectorConfig: passwords and other secrets shown as ***", () => {
  assert.deepEqual(
    redactConnectorConfig({
      "database.password": "dbz",
      "database.user": "debezium",
      "value.converter.basic.auth.user.info": "u",
      "sasl.jaas.config": "x",
    }),
    {
      "database.password": "***",
      "database.user": "debezium",
      "value.converter.basic.auth.user.info": "u",
      "sasl.jaas.config": "***",
    },
  );
});
