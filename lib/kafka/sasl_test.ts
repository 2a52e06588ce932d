import assert from "node:assert/strict";
import { ScramClient } from "./sasl.ts";

Deno.test("ScramClient: the SCRAM-SHA-256 exchange of RFC 7677", () => {
  const scram = new ScramClient("sha256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
  assert.equal(scram.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  const final = scram.final(
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  );
  assert.equal(
    final,
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  );
  scram.verify("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  assert.throws(
    () => scram.verify("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
    /SASL SCRAM-SHA-256 authentication failed: the server's signature does not match/,
  );
  assert.throws(
    () => scram.verify("e=invalid-proof"),
    /SASL SCRAM-SHA-256 authentication failed: invalid-proof/,
  );
});

Deno.test("ScramClient: a server nonce not extending the client's is refused", () => {
  const scram = new ScramClient("sha512", "u", "p", "abc");
  scram.first();
  assert.throws(
    () => scram.final("r=xyz,s=c2FsdA==,i=4096"),
    /SASL SCRAM-SHA-512 authentication failed: unexpected server message/,
  );
});
