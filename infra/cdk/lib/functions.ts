import * as path from 'node:path';

import { Annotations, App, Aspects, CfnResource, Duration, IAspect, Lazy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as include from 'aws-cdk-lib/cloudformation-include';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sam from 'aws-cdk-lib/aws-sam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct, IConstruct } from 'constructs';

import { allFunctions, CatalogueEntry, Engine, EngineName, ENGINES, Strategy } from './catalogue';
import { RotorCode } from './code';
import { DecideConditions } from './conditions';

/** TLS modes of the database functions (`TLS_MODE`, `TLS_MIN_MODE`). */
export type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** The functions' network, when the databases are in a VPC. */
export interface RotorNetwork {
  /** Subnet ids of the functions. */
  readonly subnetIds: string[];
  /** The functions' security group id. */
  readonly securityGroupId: string;
}

/**
 * The template's parameters as typed properties. Each names the parameter it sets; the template's description of
 * that parameter (and the book's chapter on the function) says what it does. Omitted: the template's default.
 */
export interface RotorFunctionsProps {
  /** Where the functions' code is (`RotorCode.fromCargoLambda('target/lambda')`, ...). */
  readonly code: RotorCode;
  /** `Architecture`: the code's architecture. Default: ARM_64. */
  readonly architecture?: lambda.Architecture;
  /** `Fips`: FIPS endpoints, and the functions refuse to start unless they are the FIPS build. Default: false. */
  readonly fips?: boolean;
  /** `RotationStrategy` of the PostgreSQL, MySQL, Redshift and MongoDB main functions. Default: single-user. */
  readonly rotationStrategy?: 'single-user' | 'admin';
  /** `RedisRotationStrategy`. Default: admin. */
  readonly redisRotationStrategy?: 'admin' | 'alternating-users';
  /** `LdapRotationStrategy`. Default: single-user. */
  readonly ldapRotationStrategy?: Strategy;
  /** `LdapUserBaseDn`: deploys rotate-ldap, confined to accounts under this DN. */
  readonly ldapUserBaseDn?: string;
  /** `DirectoryArns`: deploys rotate-directory for these AWS Directory Service directories (needs `network`). */
  readonly directoryArns?: string[];
  /** `TlsMode`. Default: verify-full. */
  readonly tlsMode?: TlsMode;
  /** `TlsMinMode`: the floor no secret lowers. Default: verify-ca. */
  readonly tlsMinMode?: TlsMode;
  /** `FunctionTimeout`. Default: 60 seconds. */
  readonly timeout?: Duration;
  /** `TlsCaBundle`: a PEM path inside the function. Default: the system roots. */
  readonly tlsCaBundle?: string;
  /** `PasswordLength`. Default: 32. */
  readonly passwordLength?: number;
  /** `ExcludeCharacters`. Default: the template's. */
  readonly excludeCharacters?: string;
  /**
   * `AdminSecretArns`: the admin (masterarn) secrets the admin and alternating-users functions may read. The
   * one-liners add the `adminSecret` they are given; list here admin secrets of other stacks (ARNs or patterns).
   */
  readonly adminSecretArns?: string[];
  /** `RotatedParameterPath`: Parameter Store SecureStrings under this path rotate too. */
  readonly rotatedParameterPath?: string;
  /** `ElastiCacheUserArns`: deploys rotate-elasticache for these users. */
  readonly elastiCacheUserArns?: string[];
  /** `ElastiCacheReplicationGroupArns`: deploys rotate-elasticache-auth-token for these groups. */
  readonly elastiCacheReplicationGroupArns?: string[];
  /** `RedshiftClusterArns`: deploys rotate-redshift-admin for these clusters. */
  readonly redshiftClusterArns?: string[];
  /** `RedshiftNamespaceArns`: deploys rotate-redshift-admin for these Serverless namespaces. */
  readonly redshiftNamespaceArns?: string[];
  /** `DocumentDbClusterArns`: deploys rotate-documentdb-admin for these clusters. */
  readonly documentDbClusterArns?: string[];
  /** `IamUserPath`: deploys rotate-iam-access-key for the users under this path. */
  readonly iamUserPath?: string;
  /** `IamUserTag` (`key=value`): a tag those users must also carry. */
  readonly iamUserTag?: string;
  /** `PreviousKeyGraceHours`. Default: 0. */
  readonly previousKeyGraceHours?: number;
  /** `DeleteUnknownKeys`. Default: false. */
  readonly deleteUnknownKeys?: boolean;
  /** `AlertTopicArn`: rotation alerts go to this topic. */
  readonly alertTopic?: sns.ITopic;
  /** `CreateAlertTopic`: rotation alerts go to a topic made here. Default: false. */
  readonly createAlertTopic?: boolean;
  /** `RotationEventBus`: a bus made here for rotor's "Secret Rotated" events. */
  readonly rotationEventBus?: string;
  /** `EnableConfigRules`: the two AWS Config managed rules and the dashboard's compliance table. Default: false. */
  readonly enableConfigRules?: boolean;
  /** `KmsKeyArn`: the customer-managed key of the rotated secrets and the log groups. */
  readonly encryptionKey?: kms.IKey;
  /** `SubnetIds` and `SecurityGroupId`. Default: no VPC. */
  readonly network?: RotorNetwork;
  /** `ReservedConcurrency` of each function. Default: none. */
  readonly reservedConcurrency?: number;
  /** `LogRetentionDays`. Default: one month. */
  readonly logRetention?: logs.RetentionDays;
  /** The template to include. Default: the rotor workspace's `template.yaml`. */
  readonly templateFile?: string;
}

/** What a secret's rotation asks of a rotor function. */
export interface RotationOptions {
  /** The strategy. Default: the engine's function-wide strategy. */
  readonly strategy?: Strategy;
  /** The admin (masterarn) secret, for admin and alternating users: pinned in `AdminSecretArns`. */
  readonly adminSecret?: secretsmanager.ISecret;
  /**
   * The identity the rotation changes, pinned with the `rotor:user` tag (`user@host:port` for a database user,
   * `user@host:port/db` for MongoDB, an ElastiCache user's ARN, an IAM user's name): needed when the secret's
   * credential cannot prove it yet (a user created with a placeholder password).
   */
  readonly user?: string;
}

interface Binding {
  readonly arn: string;
  readonly fn: CatalogueEntry;
  readonly strategy?: Strategy;
  readonly user?: string;
}

/** The tag whose value binds a secret to the one function allowed to rotate it. */
export const FUNCTION_TAG = 'rotor:function';

/**
 * rotor's rotation functions: `template.yaml` included (roles, log groups, alarms, dashboard, optional event bus and
 * Config rules), its parameters set from typed properties, each function's code an asset. The one-liners
 * (`postgres()`, `mysql()`, ...) give the function for `secret.addRotationSchedule`, and bind every secret scheduled
 * on it: the `rotor:function` tag (without which the function's role cannot open the secret), `rotor:strategy`, and
 * `rotor:user` when given. One per stack: the template's logical ids are its own.
 */
export class RotorFunctions extends Construct {
  /** The template as included, for escape hatches (`template.getResource('PostgresFunction')`). */
  public readonly template: include.CfnInclude;
  /** The CloudWatch dashboard's name. */
  public readonly dashboardName: string;

  private readonly props: RotorFunctionsProps;
  /** The template's parameters as the construct sets them (what its conditions read). */
  private readonly values: Record<string, unknown>;
  private readonly adminSecretArns: string[];
  private readonly bindings: Binding[] = [];

  constructor(scope: Construct, id: string, props: RotorFunctionsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (stack.node.tryFindChild('RotorFunctionsOfThisStack')) {
      throw new Error('rotor: one RotorFunctions per stack (the template\'s logical ids are its own); put another in a stack of its own');
    }
    new Construct(stack, 'RotorFunctionsOfThisStack');
    this.props = props;
    this.adminSecretArns = [...(props.adminSecretArns ?? [])];
    if (nonEmpty(props.directoryArns).length && !props.network) {
      throw new Error('rotor: directoryArns needs network (the subnets of the directory\'s VPC, where its domain controllers are)');
    }
    if (props.alertTopic && props.createAlertTopic) {
      throw new Error('rotor: give alertTopic or createAlertTopic, not both');
    }
    const templateFile = props.templateFile ?? path.resolve(__dirname, '../../../../template.yaml');
    this.values = this.parameters();
    checkParameters(templateFile, this.values);
    this.template = new include.CfnInclude(this, 'Template', { templateFile, parameters: this.values });
    for (const [name, engine] of Object.entries(ENGINES) as [EngineName, Engine][]) {
      if (this.deployedBy(name)) {
        const role = this.template.getResource(engine.main.logicalId.replace(/Function$/, 'Role'));
        Validations.of(role).acknowledge({
          id: 'CloudFormation-Validate::E3510',
          reason: 'rotor: the role of a function these properties do not deploy (its resource list is empty)',
        });
      }
    }
    if (!props.rotationEventBus) {
      for (const id of ['F3031', 'F3033']) {
        Validations.of(this.template.getResource('RotationBus')).acknowledge({
          id: `CloudFormation-Validate::${id}`,
          reason: 'rotor: the event bus these properties do not deploy (its name is empty)',
        });
      }
    }
    for (const fn of allFunctions()) {
      const resource = this.template.getResource(fn.logicalId) as sam.CfnFunction;
      const asset = new s3assets.Asset(this, `${fn.logicalId}Code`, { path: props.code.assetPath(fn) });
      resource.codeUri = { bucket: asset.s3BucketName, key: asset.s3ObjectKey };
    }
    if (props.alertTopic) {
      // As the template's own topic's policy: EventBridge (Secrets Manager's failure events) and CloudWatch (the
      // alarms) publish for this account. A topic of this app takes the statement; another's must have it already.
      const added = props.alertTopic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'RotationAlertsOfThisAccount',
          principals: [new iam.ServicePrincipal('events.amazonaws.com'), new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [props.alertTopic.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
      if (!added.statementAdded) {
        Annotations.of(this).addWarningV2(
          'rotor:alert-topic-policy',
          'alertTopic is not this app\'s: its policy must let events.amazonaws.com and cloudwatch.amazonaws.com publish, or no alert arrives',
        );
      }
    }
    this.dashboardName = Token.asString(this.template.getResource('RotationDashboard').ref);
    // The template's parameters are constants here, so its conditions fold: CDK's template validation then reports
    // conditions that always hold, branches never taken and references under mutually exclusive conditions. Each is
    // the parameters' choice, not a fault of the template (which cfn-lint checks unfolded).
    for (const [rule, why] of [
      ['W8003', 'a condition on a parameter the construct set'],
      ['W9053', 'conditions equal for the parameters the construct set'],
      ['W1028', 'a branch the parameters the construct set do not take'],
      ['W2503', 'a reference under conditions the parameters the construct set exclude'],
    ]) {
      // Conditions are the template's (the stack's); branches and references are the included resources'.
      const scope = rule === 'W8003' || rule === 'W9053' ? stack : this;
      Validations.of(scope).acknowledge({ id: `CloudFormation-Validate::${rule}`, reason: `rotor: ${why}` });
    }
    Aspects.of(stack).add(new BindScheduledSecrets(this.bindings));
    Aspects.of(this).add(new DecideConditions(this.template));
  }

  /** PostgreSQL (rotate-postgres, rotate-postgres-alternating). */
  public postgres(options: RotationOptions = {}): lambda.IFunction {
    return this.rotation('postgres', options);
  }

  /** MySQL and MariaDB (rotate-mysql, rotate-mysql-alternating). */
  public mysql(options: RotationOptions = {}): lambda.IFunction {
    return this.rotation('mysql', options);
  }

  /** Amazon Redshift users (rotate-redshift, rotate-redshift-alternating). */
  public redshift(options: RotationOptions = {}): lambda.IFunction {
    return this.rotation('redshift', options);
  }

  /** Amazon DocumentDB and MongoDB users (rotate-mongodb, rotate-mongodb-alternating). */
  public mongodb(options: RotationOptions = {}): lambda.IFunction {
    return this.rotation('mongodb', options);
  }

  /** Redis and Valkey ACL users (rotate-redis): admin or alternating users, as `redisRotationStrategy` says. */
  public redis(options: RotationOptions = {}): lambda.IFunction {
    return this.rotation('redis', options);
  }

  /** Active Directory, Samba and OpenLDAP accounts (rotate-ldap), as `ldapRotationStrategy` says. */
  public ldap(options: RotationOptions = {}): lambda.IFunction {
    return this.rotation('ldap', options);
  }

  /** AWS Directory Service users (rotate-directory). */
  public directory(options: Pick<RotationOptions, 'user'> = {}): lambda.IFunction {
    return this.rotation('directory', options);
  }

  /** Provisioned and Serverless Redshift admins through the Redshift API (rotate-redshift-admin). */
  public redshiftAdmin(options: Pick<RotationOptions, 'user'> = {}): lambda.IFunction {
    return this.rotation('redshiftAdmin', options);
  }

  /** DocumentDB masters through the RDS API (rotate-documentdb-admin). */
  public documentDbAdmin(options: Pick<RotationOptions, 'user'> = {}): lambda.IFunction {
    return this.rotation('documentDbAdmin', options);
  }

  /** ElastiCache RBAC users (rotate-elasticache). */
  public elastiCache(options: Pick<RotationOptions, 'user'> = {}): lambda.IFunction {
    return this.rotation('elastiCache', options);
  }

  /** ElastiCache AUTH tokens (rotate-elasticache-auth-token). */
  public elastiCacheAuthToken(): lambda.IFunction {
    return this.rotation('elastiCacheAuthToken', {});
  }

  /** IAM access keys (rotate-iam-access-key). */
  public iamAccessKey(options: Pick<RotationOptions, 'user'> = {}): lambda.IFunction {
    return this.rotation('iamAccessKey', options);
  }

  /** Generated secrets and webhooks (rotate-custom). */
  public custom(): lambda.IFunction {
    return this.rotation('custom', {});
  }

  private rotation(name: EngineName, options: RotationOptions): lambda.IFunction {
    const engine: Engine = ENGINES[name];
    const deployed = this.deployedBy(name);
    if (deployed) {
      throw new Error(`rotor.${name}(): its function is deployed only with ${deployed} set on RotorFunctions`);
    }
    const functionWide = this.functionWideStrategy(engine);
    const strategy = options.strategy ?? functionWide;
    if (strategy && !engine.strategies.includes(strategy)) {
      throw new Error(`rotor.${name}(): strategy ${strategy} is not one of ${engine.strategies.join(', ')}`);
    }
    let fn = engine.main;
    if (strategy === 'alternating-users' && engine.alternating) {
      fn = engine.alternating;
    } else if (strategy && strategy !== functionWide) {
      throw new Error(
        `rotor.${name}(): strategy ${strategy}, but ${engine.main.binary} rotates ${functionWide} ` +
          `(set ${lowerFirst(engine.strategyParameter!)}: '${strategy}' on RotorFunctions; one strategy per function)`,
      );
    }
    const needsAdmin = strategy === 'admin' || strategy === 'alternating-users';
    if (needsAdmin && !options.adminSecret) {
      throw new Error(`rotor.${name}(): strategy ${strategy} needs adminSecret (the masterarn secret it reads)`);
    }
    if (!needsAdmin && options.adminSecret) {
      throw new Error(`rotor.${name}(): adminSecret is for admin and alternating users, not ${strategy ?? name}`);
    }
    if (options.adminSecret) {
      // The role reads exactly these ARNs: a partial one (a secret imported by name) would never match.
      const arn = options.adminSecret.secretFullArn;
      if (!arn) {
        throw new Error(
          `rotor.${name}(): the admin secret has no full ARN (imported by name?): import it with Secret.fromSecretCompleteArn`,
        );
      }
      this.adminSecretArns.push(arn);
    }
    const resource = this.template.getResource(fn.logicalId);
    // A token of its own for each rotation, so the aspect tells which schedule asked for what.
    const arn = Lazy.string({ produce: () => Token.asString(resource.getAtt('Arn')) });
    this.bindings.push({ arn, fn, strategy: engine.strategies.length ? strategy : undefined, user: options.user });
    return lambda.Function.fromFunctionAttributes(this, `Rotation${this.bindings.length}`, {
      functionArn: arn,
      // The template grants Secrets Manager the invocation (of this account's secrets) and the role its access (by
      // tag); CDK adds neither, so no role opens a secret by name.
      sameEnvironment: true,
      skipPermissions: true,
    });
  }

  /** The parameter that deploys an engine's function, when it is not set; undefined when it is deployed. */
  private deployedBy(name: EngineName): string | undefined {
    const v = this.values;
    // As the template's conditions decide: a list is set when its elements joined are not empty.
    const joined = (...parameters: string[]) => parameters.map((p) => (v[p] as string[]).join('')).join('');
    const needs: Partial<Record<EngineName, [boolean, string]>> = {
      redis: [true, 'an adminSecret (adminSecretArns)'],
      ldap: [v.LdapUserBaseDn !== '', 'ldapUserBaseDn'],
      directory: [joined('DirectoryArns') !== '', 'directoryArns'],
      redshiftAdmin: [
        joined('RedshiftClusterArns', 'RedshiftNamespaceArns') !== '',
        'redshiftClusterArns or redshiftNamespaceArns',
      ],
      documentDbAdmin: [joined('DocumentDbClusterArns') !== '', 'documentDbClusterArns'],
      elastiCache: [joined('ElastiCacheUserArns') !== '', 'elastiCacheUserArns'],
      elastiCacheAuthToken: [joined('ElastiCacheReplicationGroupArns') !== '', 'elastiCacheReplicationGroupArns'],
      iamAccessKey: [v.IamUserPath !== 'none', 'iamUserPath'],
    };
    const need = needs[name];
    return need && !need[0] ? need[1] : undefined;
  }

  /** The strategy an engine's main function runs, as its template parameter is set. */
  private functionWideStrategy(engine: Engine): Strategy | undefined {
    return engine.strategyParameter ? (this.values[engine.strategyParameter] as Strategy) : undefined;
  }

  private parameters(): Record<string, unknown> {
    const p = this.props;
    // An empty element would read as "not set" to one rule and "set" to another: dropped.
    const list = (values?: string[]) => {
      const kept = nonEmpty(values);
      return kept.length ? kept : [''];
    };
    return {
      Architecture: (p.architecture ?? lambda.Architecture.ARM_64).name,
      Fips: String(p.fips ?? false),
      RotationStrategy: p.rotationStrategy ?? 'single-user',
      RedisRotationStrategy: p.redisRotationStrategy ?? 'admin',
      LdapRotationStrategy: p.ldapRotationStrategy ?? 'single-user',
      LdapUserBaseDn: p.ldapUserBaseDn ?? '',
      DirectoryArns: list(p.directoryArns),
      TlsMode: p.tlsMode ?? 'verify-full',
      TlsMinMode: p.tlsMinMode ?? 'verify-ca',
      FunctionTimeout: (p.timeout ?? Duration.seconds(60)).toSeconds(),
      TlsCaBundle: p.tlsCaBundle ?? '',
      PasswordLength: p.passwordLength ?? 32,
      ExcludeCharacters: p.excludeCharacters ?? '/@"\'\\',
      // Read when the stack is synthesized, after every one-liner added its admin secret.
      AdminSecretArns: Lazy.list({ produce: () => list(this.adminSecretArns) }),
      RotatedParameterPath: p.rotatedParameterPath ?? '',
      ElastiCacheUserArns: list(p.elastiCacheUserArns),
      ElastiCacheReplicationGroupArns: list(p.elastiCacheReplicationGroupArns),
      RedshiftClusterArns: list(p.redshiftClusterArns),
      RedshiftNamespaceArns: list(p.redshiftNamespaceArns),
      DocumentDbClusterArns: list(p.documentDbClusterArns),
      IamUserPath: p.iamUserPath ?? 'none',
      IamUserTag: p.iamUserTag ?? 'none',
      PreviousKeyGraceHours: p.previousKeyGraceHours ?? 0,
      DeleteUnknownKeys: String(p.deleteUnknownKeys ?? false),
      AlertTopicArn: p.alertTopic?.topicArn ?? 'none',
      CreateAlertTopic: String(p.createAlertTopic ?? false),
      RotationEventBus: p.rotationEventBus ?? '',
      EnableConfigRules: String(p.enableConfigRules ?? false),
      KmsKeyArn: p.encryptionKey?.keyArn ?? '',
      SubnetIds: list(p.network?.subnetIds),
      SecurityGroupId: p.network?.securityGroupId ?? '',
      ReservedConcurrency: p.reservedConcurrency ?? -1,
      LogRetentionDays: p.logRetention ?? logs.RetentionDays.ONE_MONTH,
    };
  }
}

/**
 * Tags each secret whose rotation schedule names a rotor one-liner's function: `rotor:function` (the function's
 * role opens only secrets carrying it), `rotor:strategy` and `rotor:user`, at priority 1000 (above `Tags.of`'s
 * default of 100). A secret of another stack cannot be tagged from here: a warning names the tags to set. A rotation
 * that pins a user serves one secret only.
 */
class BindScheduledSecrets implements IAspect {
  private readonly scheduled = new Map<Binding, string>();

  constructor(private readonly bindings: Binding[]) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof secretsmanager.CfnRotationSchedule)) {
      return;
    }
    const binding = this.bindings.find((b) => b.arn === node.rotationLambdaArn);
    if (!binding) {
      return;
    }
    // A user pinned for one secret must not be pinned on another: whoever may write that other secret would have the
    // admin change the pinned user's credential into it.
    const first = this.scheduled.get(binding);
    if (first !== undefined && binding.user) {
      throw new Error(
        `rotor: ${node.node.path} and ${first} share one rotation that pins rotor:user=${binding.user}: ` +
          'call the one-liner once per secret when you give it a user',
      );
    }
    this.scheduled.set(binding, node.node.path);
    const tags: [string, string][] = [[FUNCTION_TAG, binding.fn.tag]];
    if (binding.strategy) {
      tags.push(['rotor:strategy', binding.strategy]);
    }
    if (binding.user) {
      tags.push(['rotor:user', binding.user]);
    }
    const secret = findSecret(Stack.of(node), node.secretId);
    if (!secret) {
      Annotations.of(node).addWarningV2(
        'rotor:untagged-secret',
        `the secret is not in this stack: tag it ${tags.map(([k, v]) => `${k}=${v}`).join(', ')} where it is defined`,
      );
      return;
    }
    for (const [key, value] of tags) {
      secret.tags.setTag(key, value, 1000);
    }
    Validations.of(node).acknowledge({
      id: 'CloudFormation-Validate::W1001',
      reason: 'rotor: the one-liner deploys the function it names (an alternating function with its admin secret)',
    });
  }
}

/** The secret of the stack a schedule names, through a target attachment (`secret.attach(db)`) when it names one. */
function findSecret(stack: Stack, secretId: string): secretsmanager.CfnSecret | undefined {
  const ref = stack.resolve(secretId) as { Ref?: string };
  if (typeof ref !== 'object' || !ref?.Ref) {
    return undefined;
  }
  const named = stack.node.findAll().find((c) => c instanceof CfnResource && stack.resolve(c.logicalId) === ref.Ref);
  if (named instanceof secretsmanager.CfnSecretTargetAttachment) {
    return findSecret(stack, named.secretId);
  }
  return named instanceof secretsmanager.CfnSecret ? named : undefined;
}

/** The elements of a list that are not empty. */
function nonEmpty(values?: string[]): string[] {
  return (values ?? []).filter((v) => Token.isUnresolved(v) || v !== '');
}

/**
 * The template's parameters that its conditions or rules read as text: a token there would be decided without its
 * value (see `DecideConditions`), so each must be a literal.
 */
const LITERAL_PARAMETERS = [
  'Architecture', 'Fips', 'RotationStrategy', 'RedisRotationStrategy', 'LdapRotationStrategy', 'LdapUserBaseDn',
  'TlsMode', 'TlsMinMode', 'FunctionTimeout', 'TlsCaBundle', 'PasswordLength', 'ExcludeCharacters',
  'RotatedParameterPath', 'IamUserPath', 'IamUserTag', 'PreviousKeyGraceHours', 'DeleteUnknownKeys',
  'CreateAlertTopic', 'RotationEventBus', 'EnableConfigRules', 'ReservedConcurrency', 'LogRetentionDays',
];

/**
 * Checks the construct's values against the template's own parameter constraints (allowed values and pattern,
 * minimum and maximum), which CloudFormation would check on a SAM deployment but `CfnInclude` drops with the
 * parameters it replaces. A value that breaks one fails the synthesis, naming the parameter and the constraint.
 */
function checkParameters(templateFile: string, values: Record<string, unknown>): void {
  // Read only, never synthesized: under the CDK CLI an app synthesizes itself into the cloud assembly on exit unless
  // told not to, and this one would replace the user's stacks in manifest.json.
  const raw = new include.CfnInclude(new Stack(new App({ autoSynth: false }), 'RotorTemplate'), 'Template', {
    templateFile,
  });
  for (const [name, value] of Object.entries(values)) {
    const parameter = raw.getParameter(name);
    if (LITERAL_PARAMETERS.includes(name) && Token.isUnresolved(value)) {
      throw new Error(`rotor: ${name} must be a literal, not a token: the template's conditions and rules read it`);
    }
    const elements = Array.isArray(value) ? value : [value];
    for (const element of elements) {
      if (Token.isUnresolved(element)) {
        continue;
      }
      const text = String(element);
      const fail = (why: string) => {
        throw new Error(`rotor: ${name} = ${JSON.stringify(text)}: ${why} (${parameter.description ?? ''})`);
      };
      if (parameter.allowedValues && !parameter.allowedValues.map(String).includes(text)) {
        fail(`not one of ${parameter.allowedValues.join(', ')}`);
      }
      if (parameter.allowedPattern && !new RegExp(`^(?:${parameter.allowedPattern})$`).test(text)) {
        fail(`does not match ${parameter.allowedPattern}`);
      }
      if (parameter.minValue !== undefined && Number(text) < parameter.minValue) {
        fail(`below ${parameter.minValue}`);
      }
      if (parameter.maxValue !== undefined && Number(text) > parameter.maxValue) {
        fail(`above ${parameter.maxValue}`);
      }
    }
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
