// stingray's one public entry point: named exports only, `export type` for types.

// Declaring deployments and applications.
export { deployment, deploymentOf, bind } from "./deployments/decorator.ts";
export { Deployment, Application } from "./deployments/deployment.ts";
export type { BindArgs, DeployableClass } from "./deployments/deployment.ts";
export type {
  DeploymentOptions,
  AutoscalingConfig,
  ActorOptions,
} from "./deployments/options.ts";

// HTTP and MCP ingress.
export { ingress, fetchApp } from "./deployments/ingress.ts";
export { mcpApp } from "./deployments/mcp-app.ts";
export type { McpFactory, McpFactoryContext, McpAppOptions } from "./deployments/mcp-app.ts";
export { realRequest } from "./ingress/lazy-request.ts";
export type {
  AuthOptions,
  AuthTarget,
  AuthorizePredicate,
  JwtOptions,
  RateLimitOptions,
  ScopeRules,
  StaticToken,
  TokenVerifier,
} from "./ingress/auth-options.ts";
export type { AuthIdentity } from "./runtime/http-message.ts";
export { registerTaskTool } from "./deployments/task-tool.ts";
export type { TaskContext, TaskSupport, TaskToolConfig, TaskToolRun, TaskToolResult, TaskToolInputSchema } from "./deployments/task-tool.ts";
export type { TaskStore, TaskRecord, TaskStatus, TaskRef, NewTask, TaskChange, TaskSignal, TaskError } from "./tasks/task-store.ts";

// Running applications and calling them.
export { serve } from "./serve.ts";
export type { ServeRunOptions, ServeStartOptions, ServeStatus } from "./serve.ts";
export type { RuntimeHttpOptions } from "./runtime/runtime.ts";
export type { HttpServerOptions } from "./ingress/options.ts";
export type { TracingOptions } from "./observability/tracing-options.ts";
export { DeploymentResponse, DeploymentResponseGenerator } from "./deployments/response.ts";
export type {
  DeploymentHandle,
  StreamingDeploymentHandle,
  HandleOptions,
  RemoteMethod,
  StreamingRemoteMethod,
} from "./deployments/handle.ts";
export type { ApplicationStatusReport, ApplicationStatus } from "./runtime/controller.ts";
export type { DeploymentStatusReport, DeploymentStatus } from "./runtime/deployment-state.ts";

// Inside a replica.
export { getReplicaContext } from "./runtime/replica-context.ts";
export type { ReplicaContext } from "./runtime/replica-context.ts";
export { currentCallSignal } from "./runtime/call-context.ts";

export * from "./errors.ts";
