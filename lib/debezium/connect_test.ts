import assert from "node:assert/strict";
import { type ConnectorStatus, failureReport, readableTrace, stateSummary } from "./connect.ts";

const TRACE =
  `org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. This connector will be stopped.
\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)
\tat java.base/java.lang.Thread.run(Thread.java:840)
Caused by: io.debezium.DebeziumException: java.sql.SQLException: Access denied for user 'debezium'@'localhost' (using password: YES)
\tat io.debezium.connector.binlog.BinlogSourceTask.start(BinlogSourceTask.java:120)
\t... 9 more
Caused by: java.sql.SQLException: Access denied for user 'debezium'@'localhost' (using password: YES)
\tat com.mysql.cj.jdbc.exceptions.SQLError.createSQLException(SQLError.java:121)
\t... 12 more
`;

Deno.test("readableTrace: the chain of messages, short class names, no frames, no repeats", () => {
  assert.deepEqual(readableTrace(TRACE), [
    "ConnectException: An exception occurred in the change event producer. This connector will be stopped.",
    "caused by: DebeziumException: java.sql.SQLException: Access denied for user 'debezium'@'localhost' (using password: YES)",
  ]);
});

const status = (task: ConnectorStatus["tasks"][number]["state"]): ConnectorStatus => ({
  name: "inventory-connector",
  connector: { state: "RUNNING", worker_id: "w:8083" },
  tasks: [{
    id: 0,
    state: task,
    worker_id: "w:8083",
    trace: task === "FAILED" ? TRACE : undefined,
  }],
});

Deno.test("failureReport: names the failed task and indents its readable trace", () => {
  assert.equal(failureReport(status("RUNNING")), "");
  const report = failureReport(status("FAILED"));
  assert.match(report, /^task inventory-connector-0 FAILED:\n {4}ConnectException: /);
  assert.match(report, /\n {4}caused by: DebeziumException: .*Access denied/);
});

Deno.test("stateSummary: connector and task states on one line", () => {
  assert.equal(stateSummary(status("RUNNING")), "connector RUNNING, task 0 RUNNING");
  assert.equal(
    stateSummary({ ...status("RUNNING"), tasks: [] }),
    "connector RUNNING, no tasks yet",
  );
});
