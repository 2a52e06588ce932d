/**
 * Kafka, as the rest of `cdc` sees it: every module outside lib/kafka imports from here.
 *
 * - {@linkcode KafkaSource}: the stream's source, a consumer group (kafkajs keeps the
 *   membership and the commits) whose partitions are read by cdc's own fetches;
 * - {@linkcode KafkaAdmin}: look-ups for the subcommands; {@linkcode readRanges}: reading
 *   partitions without a group (`cdc tail`); {@linkcode probeKafka}: does Kafka answer;
 * - the connection as cdc describes it, positions, and the errors worth telling apart.
 *
 * @module
 */
export { FETCH_LIMITS, KafkaSource, type SourceEvents, type SourceOptions } from "./consumer.ts";
export type { SourceBatch, SourceRecord } from "./fetch.ts";
export type { ParkedPartition } from "./fetcher.ts";
export {
  type GroupMember,
  type GroupState,
  KafkaAdmin,
  type KafkaPartitionOffsets,
  withCommitted,
} from "./admin.ts";
export { type PartitionRange, readRanges, type RecordVisitor } from "./reader.ts";
export { probeKafka } from "./client.ts";
export { describeKafka, type KafkaConnection, type SaslMechanism } from "./connection.ts";
export { isRetriableKafkaError, KafkaAuthenticationError, KafkaProtocolError } from "./errors.ts";
export {
  isApplied,
  type PartitionPosition,
  positionList,
  type Positions,
  setPosition,
} from "./positions.ts";
