/**
 * Kafka positions: the next offset to read, by topic and partition. The sink
 * stores them with each batch; the source seeks to them and commits them.
 *
 * @module
 */

/** Next offset to read, by topic and partition. */
export type Positions = Map<string, Map<number, number>>;

/** One partition's next offset. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  offset: number;
}

/** Sets the next offset of one partition. */
export function setPosition(
  positions: Positions,
  topic: string,
  partition: number,
  offset: number,
): void {
  let partitions = positions.get(topic);
  if (!partitions) positions.set(topic, partitions = new Map());
  partitions.set(partition, offset);
}

/** Every partition's position, as a flat list. */
export function positionList(positions: Positions): PartitionPosition[] {
  const list: PartitionPosition[] = [];
  for (const [topic, partitions] of positions) {
    for (const [partition, offset] of partitions) list.push({ topic, partition, offset });
  }
  return list;
}

/**
 * The rule that makes a replay harmless: a record whose offset is below its partition's next
 * position is applied already (written with the position, in one transaction), and is not
 * applied again. Undefined `next`: nothing of the partition is applied.
 */
export function isApplied(next: number | undefined, offset: number): boolean {
  return next !== undefined && offset < next;
}
