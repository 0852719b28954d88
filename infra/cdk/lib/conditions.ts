import { CfnCondition, Fn, IAspect, Stack } from 'aws-cdk-lib';
import type { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import type { IConstruct } from 'constructs';

/** What a resource's `Ref` or `Fn::GetAtt` stands for here: a value that is set and equals no literal. */
const RESOURCE = '\u0000a resource of the stack';

/**
 * Decides the included template's conditions and rules when the stack is synthesized.
 *
 * The construct sets every parameter, and some values are other resources (an admin secret, a topic, a key, subnets
 * of the stack): CloudFormation's `Conditions` and `Rules` may name none of them, so the template as included would
 * not deploy. Each condition becomes the constant it evaluates to (a resource's value counts as set), and each rule
 * is checked here, failing the synthesis with the template's own description, then dropped.
 */
export class DecideConditions implements IAspect {
  constructor(private readonly template: CfnInclude) {}

  public visit(node: IConstruct): void {
    if (node !== this.template) {
      return;
    }
    const stack = Stack.of(node);
    const conditions = node.node.tryFindChild('$Conditions')?.node.children ?? [];
    const expressions = new Map<string, unknown>();
    for (const condition of conditions) {
      expressions.set(condition.node.id, stack.resolve((condition as CfnCondition).expression));
    }
    const decided = new Map<string, boolean>();
    const decide = (name: string): boolean => {
      if (!decided.has(name)) {
        decided.set(name, Boolean(evaluate(expressions.get(name), decide)));
      }
      return decided.get(name)!;
    };
    for (const condition of conditions) {
      const holds = decide(condition.node.id);
      (condition as CfnCondition).expression = Fn.conditionEquals(holds ? 'true' : 'false', 'true');
    }
    const rules = node.node.tryFindChild('$Rules');
    for (const rule of [...(rules?.node.children ?? [])]) {
      const rendered = stack.resolve((rule as unknown as { _toCloudFormation(): any })._toCloudFormation());
      const body = rendered.Rules[rule.node.id] as { RuleCondition?: unknown; Assertions: { Assert: unknown; AssertDescription: string }[] };
      if (body.RuleCondition === undefined || evaluate(body.RuleCondition, decide)) {
        for (const assertion of body.Assertions) {
          if (!evaluate(assertion.Assert, decide)) {
            // Thrown, not annotated: the rule leaves the template, so nothing (not --ignore-errors) may pass it by.
            throw new Error(`rotor: ${assertion.AssertDescription}`);
          }
        }
      }
      rules!.node.tryRemoveChild(rule.node.id);
    }
  }
}

/** The value of a condition or rule expression, with `Ref`s and `Fn::GetAtt`s of resources as [`RESOURCE`]. */
function evaluate(value: unknown, condition: (name: string) => boolean): unknown {
  if (Array.isArray(value)) {
    return value.map((v) => evaluate(v, condition));
  }
  if (value === null || typeof value !== 'object') {
    return value;
  }
  const [key, arg] = Object.entries(value)[0] as [string, any];
  const text = (v: unknown) => String(evaluate(v, condition));
  // A list token (Fn::Split of an import, say) is one value that is set.
  const list = (v: unknown) => {
    const evaluated = evaluate(v, condition);
    return Array.isArray(evaluated) ? evaluated.map(String) : [String(evaluated)];
  };
  switch (key) {
    case 'Fn::Not':
      return !evaluate(arg[0], condition);
    case 'Fn::And':
      return arg.every((c: unknown) => evaluate(c, condition));
    case 'Fn::Or':
      return arg.some((c: unknown) => evaluate(c, condition));
    case 'Fn::Equals':
      return text(arg[0]) === text(arg[1]);
    case 'Fn::Join':
      return list(arg[1]).join(arg[0]);
    case 'Fn::Contains':
      return list(arg[0]).includes(text(arg[1]));
    case 'Condition':
      return condition(arg);
    case 'Ref':
    case 'Fn::GetAtt':
    case 'Fn::Split':
    case 'Fn::ImportValue':
      // A resource's value, or an import: set, and equal to no literal.
      return RESOURCE;
    default:
      throw new Error(`rotor: the template's conditions use ${key}, which the construct cannot decide at synthesis`);
  }
}
