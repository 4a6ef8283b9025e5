/** The pure workflow-definition engine: parsing, validation, templates, graph, params. No AWS here. */

export { decodeDefinition } from './decode.js';
export { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
export { type CompiledWorkflow, compile, findCycles } from './graph.js';
export { isPlainObject, matchesType, resolveParams, typeName } from './params.js';
export { formatPath, joinPath, type PathSegment } from './path.js';
export {
  DEFAULT_MAX_BYTES,
  MAX_ATTEMPTS,
  MAX_TASKS,
  NAME_PATTERN,
  PARAM_NAME_PATTERN,
} from './schema.js';
export {
  findReferences,
  hasTemplate,
  type LocatedReference,
  type Reference,
  type RenderScope,
  render,
  scanTemplates,
  TemplateError,
  type TemplateIssue,
  type TemplateScan,
} from './template.js';
export type {
  FailureStrategy,
  ParamSpec,
  ParamType,
  Result,
  RetryPolicy,
  TaskSpec,
  ValidationIssue,
  WorkflowDefinition,
} from './types.js';
export { NO_RETRY, type ParseOptions, parseDefinition } from './validate.js';
