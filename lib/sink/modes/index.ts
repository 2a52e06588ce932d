/**
 * The sink modes by name (`cdc stream --mode`).
 *
 * @module
 */
import { HISTORY } from "./history.ts";
import type { ModeName, SinkMode } from "./mode.ts";
import { MIRROR } from "./mirror.ts";
import { SCD2 } from "./scd2.ts";

/** Every mode, by its name. */
export const SINK_MODES: Readonly<Record<ModeName, SinkMode>> = {
  history: HISTORY,
  mirror: MIRROR,
  scd2: SCD2,
};
