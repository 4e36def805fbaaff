// The official MCP conformance suite, run for the 2025-11-25 and the 2026-07-28 requirement sets:
// first against the fixture served directly by the SDK (the baseline), then against the same
// fixture deployed with two replicas behind the stingray proxy. Every scenario a revision
// requires must pass; the counts are printed for the record. The 2025 run would fail through the
// proxy without sticky sessions: every scenario opens a session whose later requests must reach
// the replica that holds it. The Tasks extension's scored `tasks-*` scenarios (not part of any
// revision's required set: extensions are optional) run one by one against the two replicas, where
// a task created on one replica is read, updated and cancelled through either.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeFailures,
  ensureConformanceTools,
  extensionScenarios,
  runConformance,
  runConformanceScenario,
  scenarioFailures,
  summarize,
  type ConformanceReport,
  type Requirements,
} from "../fixtures/conformance-runner.ts";
import { startStandaloneConformanceServer, type StandaloneConformanceServer } from "../fixtures/conformance-standalone.ts";
import { app } from "../fixtures/conformance-app.ts";
import { serve } from "../../src/index.ts";
import { createLogger } from "../../src/observability/logger.ts";

const REVISIONS: Requirements[] = ["2025-11-25", "2026-07-28"];
// Installing the tools on a cold cache and two suite runs on a busy 2-core machine.
const SUITE_TIMEOUT_MS = 300_000;

function expectAllRequiredPassed(report: ConformanceReport): void {
  console.log(`[conformance] ${summarize(report)}`);
  // A frozen requirements file with no server scenarios would make this test vacuous.
  expect(report.required.length).toBeGreaterThan(20);
  expect(describeFailures(report)).toEqual([]);
  expect(report.results.size).toBe(report.required.length);
}

// Names the scenarios call. The suite cannot tell a missing tool from a failing one in every case
// (an unknown tool is an isError result with text content), so their presence is checked here.
const EXPECTED = {
  tools: [
    "test_simple_text", "test_image_content", "test_audio_content", "test_embedded_resource",
    "test_multiple_content_types", "test_tool_with_logging", "test_tool_with_progress",
    "test_error_handling", "test_sampling", "test_elicitation", "test_elicitation_sep1034_defaults",
    "test_elicitation_sep1330_enums", "test_reconnection", "json_schema_2020_12_tool",
    "test_missing_capability", "test_streaming_elicitation", "test_logging_tool",
    "test_trigger_tool_change", "test_trigger_prompt_change", "test_input_required_result_elicitation",
    "test_input_required_result_sampling", "test_input_required_result_list_roots",
    "test_input_required_result_request_state", "test_input_required_result_multiple_inputs",
    "test_input_required_result_multi_round", "test_input_required_result_tampered_state",
    "test_input_required_result_capabilities", "test_header_param",
  ],
  // Tasks extension: served by stingray only (the SDK alone has no server side for tasks).
  taskTools: [
    "greet", "slow_compute", "failing_job", "protocol_error_job", "confirm_delete", "multi_input",
    "test_tool_with_task",
  ],
  prompts: [
    "test_simple_prompt", "test_prompt_with_arguments", "test_prompt_with_embedded_resource",
    "test_prompt_with_image", "test_input_required_result_prompt",
  ],
  resources: ["test://static-text", "test://static-binary", "test://watched-resource"],
  templates: ["test://template/{id}/data"],
};

async function expectFixturesListed(url: string, era: "legacy" | "modern", withTasks = false): Promise<void> {
  const client = new Client(
    { name: "stingray-conformance-test", version: "1.0.0" },
    era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  try {
    // 2025 sessions are sticky to one replica; 2026-07-28 is stateless.
    expect(transport.sessionId !== undefined).toBe(era === "legacy");
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
    const resources = (await client.listResources()).resources.map((r) => r.uri);
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(tools).toEqual(expect.arrayContaining(withTasks ? [...EXPECTED.tools, ...EXPECTED.taskTools] : EXPECTED.tools));
    expect(prompts).toEqual(expect.arrayContaining(EXPECTED.prompts));
    expect(resources).toEqual(expect.arrayContaining(EXPECTED.resources));
    expect(templates).toEqual(expect.arrayContaining(EXPECTED.templates));
  } finally {
    await transport.terminateSession?.().catch(() => {});
    await client.close();
  }
}

let node22: string;

beforeAll(async () => {
  ({ node22 } = await ensureConformanceTools());
}, SUITE_TIMEOUT_MS);

describe("conformance fixture served directly by the SDK", () => {
  let server: StandaloneConformanceServer;

  beforeAll(async () => {
    server = await startStandaloneConformanceServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it("lists every fixture the scenarios call, in both eras", async () => {
    await expectFixturesListed(server.url, "legacy");
    await expectFixturesListed(server.url, "modern");
  });

  for (const revision of REVISIONS) {
    it(
      `passes every required ${revision} server scenario`,
      async () => {
        expectAllRequiredPassed(await runConformance(node22, server.url, revision));
      },
      SUITE_TIMEOUT_MS,
    );
  }
});

describe("conformance fixture on stingray: two replicas behind the proxy", () => {
  let url: string;

  beforeAll(async () => {
    await serve.start({
      http: { host: "127.0.0.1", port: 0 },
      // Logical CPUs, so both replicas are placed even on a one-core CI machine.
      numCpus: 4,
      // The suite makes hundreds of requests; access logs would bury the counts.
      logger: createLogger({ level: "warn" }),
      handleSignals: false,
    });
    await serve.run(app, { name: "conformance" });
    const base = new URL(serve.address()!);
    // The DNS-rebinding scenario only applies to (and only passes against) a localhost URL.
    url = `http://localhost:${base.port}/mcp`;
  }, 60_000);
  afterAll(async () => {
    await serve.shutdown();
  }, 60_000);

  it("runs the fixture on two replicas", () => {
    const report = serve.status().applications.find((a) => a.name === "conformance");
    expect(report?.status).toBe("RUNNING");
    expect(report?.deployments[0]?.runningReplicas).toBe(2);
  });

  it("lists every fixture the scenarios call, in both eras", async () => {
    await expectFixturesListed(url, "legacy", true);
    await expectFixturesListed(url, "modern", true);
  });

  for (const revision of REVISIONS) {
    it(
      `passes every required ${revision} server scenario`,
      async () => {
        expectAllRequiredPassed(await runConformance(node22, url, revision));
      },
      SUITE_TIMEOUT_MS,
    );
  }

  describe("Tasks extension (io.modelcontextprotocol/tasks)", () => {
    // Named here (the suite may not be installed yet when tests are collected) and checked against
    // the installed suite's requirements file below.
    const scored = [
      "tasks-lifecycle", "tasks-capability-negotiation", "tasks-wire-fields", "tasks-request-state-removal",
      "tasks-mrtr-input", "tasks-request-headers", "tasks-dispatch-and-envelope", "tasks-required-task-error",
      "tasks-mrtr-composition",
    ];

    it("runs every scored tasks-* scenario of the suite (it skips tasks-status-notifications itself)", () => {
      const listed = extensionScenarios("2026-07-28", "tasks-");
      expect([...listed.scored].sort()).toEqual([...scored].sort());
      expect(listed.skipped).toEqual(["tasks-status-notifications"]);
    });

    for (const scenario of scored) {
      it(
        `passes ${scenario}`,
        async () => {
          const result = await runConformanceScenario(node22, url, scenario);
          expect(scenarioFailures(result, scenario)).toEqual([]);
          expect(result!.checks.filter((c) => c.status === "SUCCESS").length).toBeGreaterThan(0);
        },
        120_000,
      );
    }
  });
});
