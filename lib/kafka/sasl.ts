/**
 * SASL over Kafka's SaslHandshake v1 and SaslAuthenticate v0 (KIP-152): PLAIN, and the client
 * side of SCRAM (RFC 5802) with SHA-256 or SHA-512 (RFC 7677).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import type { BrokerConnection } from "./broker.ts";
import type { KafkaConnection } from "./connection.ts";
import { ERROR, KafkaAuthenticationError } from "./errors.ts";
import { API, WireReader, WireWriter } from "./wire.ts";

type Sasl = NonNullable<KafkaConnection["sasl"]>;

/** Authenticates `broker`'s connection with `sasl`; throws {@linkcode KafkaAuthenticationError}. */
export async function authenticate(broker: BrokerConnection, sasl: Sasl): Promise<void> {
  const mechanism = sasl.mechanism.toUpperCase();
  const handshake = new WireReader(
    await broker.request(API.saslHandshake, 1, new WireWriter().string(mechanism).done()),
  );
  const code = handshake.int16();
  if (code !== ERROR.none) {
    const offered = handshake.array(() => handshake.string()).join(", ");
    throw new KafkaAuthenticationError(mechanism, `the broker offers only ${offered}`);
  }
  const exchange = async (message: string): Promise<string> => {
    const reply = new WireReader(
      await broker.request(
        API.saslAuthenticate,
        0,
        new WireWriter().bytes(Buffer.from(message)).done(),
      ),
    );
    const error = reply.int16();
    const text = reply.string();
    if (error !== ERROR.none) {
      throw new KafkaAuthenticationError(mechanism, text ?? `Kafka error code ${error}`);
    }
    return reply.bytes()?.toString("utf8") ?? "";
  };
  if (mechanism === "PLAIN") {
    await exchange(`\0${sasl.username}\0${sasl.password}`);
    return;
  }
  const hash = mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
  const scram = new ScramClient(hash, sasl.username, sasl.password);
  const serverFirst = await exchange(scram.first());
  const serverFinal = await exchange(scram.final(serverFirst));
  scram.verify(serverFinal);
}

/** The client side of SCRAM (RFC 5802) with SHA-256 or SHA-512 (RFC 7677). */
export class ScramClient {
  readonly #hash: "sha256" | "sha512";
  readonly #mechanism: string;
  readonly #user: string;
  readonly #password: string;
  readonly #nonce: string;
  #firstBare = "";
  #serverSignature?: Buffer;

  constructor(hash: "sha256" | "sha512", user: string, password: string, nonce?: string) {
    this.#hash = hash;
    this.#mechanism = hash === "sha256" ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
    this.#user = user;
    this.#password = password;
    this.#nonce = nonce ?? randomBytes(24).toString("base64");
  }

  /** The client-first message. */
  first(): string {
    const name = this.#user.replaceAll("=", "=3D").replaceAll(",", "=2C");
    this.#firstBare = `n=${name},r=${this.#nonce}`;
    return `n,,${this.#firstBare}`;
  }

  /** The client-final message, answering the server-first one. */
  final(serverFirst: string): string {
    const fields = new Map(serverFirst.split(",").map((f) => [f[0], f.slice(2)]));
    const nonce = fields.get("r") ?? "";
    const salt = Buffer.from(fields.get("s") ?? "", "base64");
    const iterations = Number(fields.get("i"));
    if (!nonce.startsWith(this.#nonce) || !salt.length || !(iterations > 0)) {
      throw new KafkaAuthenticationError(
        this.#mechanism,
        `unexpected server message "${serverFirst}"`,
      );
    }
    const length = this.#hash === "sha256" ? 32 : 64;
    const salted = pbkdf2Sync(this.#password, salt, iterations, length, this.#hash);
    const clientKey = this.#hmac(salted, "Client Key");
    const storedKey = createHash(this.#hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const message = `${this.#firstBare},${serverFirst},${withoutProof}`;
    const signature = this.#hmac(storedKey, message);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    this.#serverSignature = this.#hmac(this.#hmac(salted, "Server Key"), message);
    return `${withoutProof},p=${Buffer.from(proof).toString("base64")}`;
  }

  /** Checks the server-final message: the server knew the password too. */
  verify(serverFinal: string): void {
    if (serverFinal.startsWith("e=")) {
      throw new KafkaAuthenticationError(this.#mechanism, serverFinal.slice(2));
    }
    const signature = Buffer.from(serverFinal.replace(/^v=/, ""), "base64");
    const expected = this.#serverSignature;
    if (
      !expected || signature.length !== expected.length || !timingSafeEqual(signature, expected)
    ) {
      throw new KafkaAuthenticationError(this.#mechanism, "the server's signature does not match");
    }
  }

  #hmac(key: Uint8Array, text: string): Buffer {
    return createHmac(this.#hash, key).update(text).digest();
  }
}
