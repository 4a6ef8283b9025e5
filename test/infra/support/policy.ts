/**
 * A small evaluator for the IAM policies Baton synthesizes: enough to ask "may this role do that
 * action on that resource, for an item in that partition?" of a CloudFormation template. It knows
 * `Allow` statements, exact and `*`-pattern actions and resources, and `ForAllValues:StringLike` on
 * `dynamodb:LeadingKeys`; any other condition makes a statement count as not granting.
 */

export type Json = any;

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** A CloudFormation value as a comparable string: `Logical.Arn`, `Logical.Ref`, joins concatenated. */
export function resolve(v: Json): string {
  if (typeof v === 'string') return v;
  if (v?.['Fn::GetAtt']) return `${v['Fn::GetAtt'][0]}.${v['Fn::GetAtt'][1]}`;
  if (v?.Ref) return `${v.Ref}.Ref`;
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as Json[]).map(resolve).join(v['Fn::Join'][0]);
  throw new Error(`cannot resolve ${JSON.stringify(v)}`);
}

const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The statements of every policy attached to the role with this logical id. */
export function roleStatements(template: Json, roleId: string): Statement[] {
  return Object.values(template.Resources as Record<string, Json>)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement as Statement[]);
}

/** The statements of the role a function runs as. */
export function functionStatements(template: Json, functionId: string): Statement[] {
  const role = template.Resources[functionId]?.Properties?.Role;
  if (!role) throw new Error(`no function ${functionId}`);
  return roleStatements(template, role['Fn::GetAtt'][0]);
}

/** Whether the statements allow `action` on `resource` (as `resolve` writes it) for an item whose partition key is `leadingKey`. */
export function allows(statements: readonly Statement[], action: string, resource: string, leadingKey?: string): boolean {
  return statements.some((s) => {
    if (s.Effect !== 'Allow') return false;
    if (!list(s.Action).some((a) => glob(a).test(action))) return false;
    if (!list(s.Resource).some((r) => glob(resolve(r)).test(resource))) return false;
    if (!s.Condition) return true;
    const keys = Object.entries(s.Condition).flatMap(([op, kv]) => Object.entries(kv).map(([k, v]) => ({ op, k, v: list(v) })));
    return keys.every(({ op, k, v }) => {
      if (op !== 'ForAllValues:StringLike' || k !== 'dynamodb:LeadingKeys') return false;
      return leadingKey !== undefined && v.some((p) => glob(p).test(leadingKey));
    });
  });
}

/** Every action any statement names. */
export function actionsOf(statements: readonly Statement[]): string[] {
  return statements.flatMap((s) => list(s.Action));
}
