/**
 * Values as the sink hands them to MySQL: the driver's types, and a geometry that renders
 * itself as SQL.
 *
 * @module
 */
import type { Buffer } from "node:buffer";

/**
 * A geometry: its WKB and SRID. As SQL (`toSqlString`, which the MySQL driver
 * also calls) `ST_GeomFromWKB(X'..', srid)`, built from bytes and an integer only.
 */
export class GeometryValue {
  constructor(readonly wkb: Buffer, readonly srid: number | null) {}

  toSqlString(): string {
    const hex = this.wkb.toString("hex");
    return this.srid === null
      ? `ST_GeomFromWKB(X'${hex}')`
      : `ST_GeomFromWKB(X'${hex}', ${this.srid})`;
  }
}

/** A value as handed to the MySQL driver. */
export type SqlValue = null | number | bigint | string | Buffer | GeometryValue;
