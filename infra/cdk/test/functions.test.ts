/**
 * The construct, synthesized: what a stack using it deploys (node's test runner and aws-cdk-lib's assertions).
 * `make test` runs these, and `tests/tests/e2e/templates.rs` runs the example app's schedules against PostgreSQL.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { App, CfnParameter, Duration, Stack, Tags } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';

import { allFunctions, RotorCode, RotorFunctions, RotorFunctionsProps } from '../lib';

/** A directory laid out as `cargo lambda build` writes it, one `bootstrap` per binary. */
function cargoLambdaOutput(layout: 'binary' | 'logical' = 'binary'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rotor-cdk-'));
  for (const fn of allFunctions()) {
    const name = layout === 'binary' ? fn.binary : fn.logicalId;
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'bootstrap'), `#!/bin/sh\n# ${fn.binary}\n`, { mode: 0o755 });
  }
  return dir;
}

const CODE = cargoLambdaOutput();

function setUp(props: Partial<RotorFunctionsProps> = {}) {
  const app = new App();
  const stack = new Stack(app, 'Apps', { env: { account: '123456789012', region: 'us-east-1' } });
  const rotor = new RotorFunctions(stack, 'Rotor', { code: RotorCode.fromCargoLambda(CODE), ...props });
  return { app, stack, rotor };
}

function secret(stack: Stack, id: string): secretsmanager.Secret {
  return new secretsmanager.Secret(stack, id, {
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ engine: 'postgres', host: 'db', port: 5432, username: id }),
      generateStringKey: 'password',
    },
  });
}

function tagsOf(template: Template, prefix: string): Record<string, string> {
  const [, secretResource] = Object.entries(template.findResources('AWS::SecretsManager::Secret')).find(([id]) =>
    id.startsWith(prefix),
  )!;
  return Object.fromEntries(
    (secretResource.Properties.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]),
  );
}

test('a one-liner schedules the secret on its function and binds it with the tags the role requires', () => {
  const { stack, rotor } = setUp();
  const master = secret(stack, 'Master');
  const app = secret(stack, 'App');
  master.addRotationSchedule('Rotation', { rotationLambda: rotor.postgres(), automaticallyAfter: Duration.days(30) });
  app.addRotationSchedule('Rotation', {
    rotationLambda: rotor.postgres({ strategy: 'alternating-users', adminSecret: master, user: 'App@db:5432' }),
  });
  // Whoever adds tags to every resource of the stack cannot hand the secret to another function.
  Tags.of(stack).add('rotor:function', 'custom');

  const template = Template.fromStack(stack);
  assert.deepEqual(tagsOf(template, 'Master'), { 'rotor:function': 'postgres', 'rotor:strategy': 'single-user' });
  assert.deepEqual(tagsOf(template, 'App'), {
    'rotor:function': 'postgres-alternating',
    'rotor:strategy': 'alternating-users',
    'rotor:user': 'App@db:5432',
  });
  const schedules = template.findResources('AWS::SecretsManager::RotationSchedule');
  const lambdas = Object.values(schedules).map((s) => JSON.stringify(s.Properties.RotationLambdaARN));
  assert.deepEqual(lambdas.sort(), [
    JSON.stringify({ 'Fn::GetAtt': ['PostgresAlternatingFunction', 'Arn'] }),
    JSON.stringify({ 'Fn::GetAtt': ['PostgresFunction', 'Arn'] }),
  ]);
});

test('the admin secret is pinned in the alternating role, and no role opens a secret by name', () => {
  const { stack, rotor } = setUp();
  const master = secret(stack, 'Master');
  secret(stack, 'App').addRotationSchedule('Rotation', {
    rotationLambda: rotor.postgres({ strategy: 'alternating-users', adminSecret: master }),
  });
  const template = Template.fromStack(stack);
  const masterRef = { Ref: stack.resolve((master.node.defaultChild as secretsmanager.CfnSecret).logicalId) };
  template.hasResourceProperties('AWS::IAM::Role', {
    Policies: Match.arrayWith([
      Match.objectLike({
        PolicyName: 'rotate-tagged-secrets',
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Sid: 'ReadAdminSecrets', Resource: [masterRef] })]),
        },
      }),
    ]),
  });
  // CDK's RotationSchedule grants a rotation function's role its secret by ARN; rotor's roles open secrets only by
  // their tag and rotation function, so nothing here may name the secrets but ReadAdminSecrets.
  assert.deepEqual(template.findResources('AWS::IAM::Policy'), {});
  const statements = (value: unknown): { Sid?: string }[] =>
    Array.isArray(value)
      ? value.flatMap(statements)
      : value && typeof value === 'object'
        ? 'Effect' in value
          ? [value as { Sid?: string }]
          : Object.values(value).flatMap(statements)
        : [];
  let pinned = 0;
  for (const [id, role] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const statement of statements(role.Properties.Policies ?? [])) {
      const text = JSON.stringify(statement);
      assert.ok(!/"Ref":"App/.test(text), `${id}: ${statement.Sid} names the user secret`);
      if (text.includes(JSON.stringify(masterRef))) {
        assert.equal(statement.Sid, 'ReadAdminSecrets', `${id} names the admin secret outside ReadAdminSecrets`);
        pinned += 1;
      }
    }
  }
  assert.ok(pinned > 0, 'the admin secret is pinned');
  // No second invoke permission: the template's own (Secrets Manager of this account) is the only one.
  const permissions = Object.keys(template.findResources('AWS::Lambda::Permission'));
  assert.ok(permissions.every((id) => id.endsWith('InvokePermission')), permissions.join(', '));
});

test('a strategy the function does not rotate, or a function not deployed, is refused at synthesis naming the fix', () => {
  const { stack, rotor } = setUp();
  const master = secret(stack, 'Master');
  assert.throws(() => rotor.postgres({ strategy: 'admin', adminSecret: master }), /set rotationStrategy: 'admin' on RotorFunctions/);
  assert.throws(() => rotor.mysql({ strategy: 'alternating-users' }), /needs adminSecret/);
  assert.throws(() => rotor.postgres({ adminSecret: master }), /adminSecret is for admin and alternating users/);
  assert.throws(() => rotor.elastiCache(), /deployed only with elastiCacheUserArns/);
  assert.throws(() => rotor.iamAccessKey(), /deployed only with iamUserPath/);
  assert.throws(() => rotor.redis({ strategy: 'single-user' }), /not one of admin, alternating-users/);
  assert.throws(
    () => new RotorFunctions(stack, 'Again', { code: RotorCode.fromCargoLambda(CODE) }),
    /one RotorFunctions per stack/,
  );
  assert.throws(() => setUp({ directoryArns: ['arn:aws:ds:us-east-1:123456789012:directory/d-1'] }), /needs network/);
  const admin = setUp({ rotationStrategy: 'admin' });
  const adminMaster = secret(admin.stack, 'Master');
  assert.doesNotThrow(() => admin.rotor.postgres({ strategy: 'admin', adminSecret: adminMaster }));
});

test('missing code names the build that writes it', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'rotor-cdk-empty-'));
  assert.throws(() => setUp({ code: RotorCode.fromCargoLambda(empty) }), /rotate-postgres.*cargo lambda build --release/);
  assert.throws(() => setUp({ code: RotorCode.fromSamBuild(empty) }), /PostgresFunction.*make package/);
});

test('each function runs its own asset, from cargo lambda or sam build output', () => {
  for (const code of [RotorCode.fromCargoLambda(CODE), RotorCode.fromSamBuild(cargoLambdaOutput('logical'))]) {
    const { stack } = setUp({ code });
    const template = Template.fromStack(stack);
    const functions = template.findResources('AWS::Serverless::Function');
    const keys = new Set<string>();
    for (const fn of allFunctions()) {
      const uri = functions[fn.logicalId].Properties.CodeUri;
      assert.match(JSON.stringify(uri.Bucket), /cdk-.*-assets-123456789012-us-east-1/, fn.logicalId);
      keys.add(uri.Key);
    }
    assert.equal(keys.size, allFunctions().length, 'one asset per function (their bootstraps differ)');
  }
});

test('typed properties set the template\'s parameters, leaving none to the deployer', () => {
  const { stack } = setUp({
    timeout: Duration.seconds(120),
    createAlertTopic: true,
    enableConfigRules: true,
    rotationEventBus: 'rotor-events',
    ldapUserBaseDn: 'ou=people,dc=example,dc=com',
    network: { subnetIds: ['subnet-1'], securityGroupId: 'sg-1' },
  });
  const template = Template.fromStack(stack).toJSON();
  assert.deepEqual(Object.keys(template.Parameters), ['BootstrapVersion']);
  assert.equal(template.Globals.Function.Timeout, 120);
  for (const id of ['AlertTopic', 'RotationBus', 'ConfigComplianceRule', 'LdapFunction', 'RotationDashboard']) {
    assert.ok(template.Resources[id], `${id} is in the template`);
  }
  assert.deepEqual(template.Conditions.HasLdapUserBaseDn, { 'Fn::Equals': ['true', 'true'] });
  assert.deepEqual(template.Conditions.HasIamUserPath, { 'Fn::Equals': ['false', 'true'] });
});

test('conditions and rules name no resource of the stack (CloudFormation refuses them), and a rule fails the synthesis', () => {
  const { stack, rotor } = setUp({ createAlertTopic: false });
  const master = secret(stack, 'Master');
  secret(stack, 'App').addRotationSchedule('Rotation', {
    rotationLambda: rotor.mysql({ strategy: 'alternating-users', adminSecret: master }),
  });
  const template = Template.fromStack(stack).toJSON();
  assert.doesNotMatch(JSON.stringify(template.Conditions), /Ref|GetAtt/);
  assert.deepEqual(template.Conditions.HasAdminSecret, { 'Fn::Equals': ['true', 'true'] }, 'the admin secret counts as set');
  assert.deepEqual(Object.keys(template.Rules), ['CheckBootstrapVersion']);
  assert.ok(template.Resources.MysqlAlternatingFunction.Condition === 'HasAdminSecret');

  // The template's rule fails the synthesis itself (no --ignore-errors passes it: the rule is not in the template).
  const wide = setUp({ iamUserPath: '/' });
  assert.throws(() => Template.fromStack(wide.stack), /IamUserPath \/ .*needs IamUserTag/);
  const narrowed = setUp({ iamUserPath: '/', iamUserTag: 'rotor-rotated=true' });
  assert.doesNotThrow(() => Template.fromStack(narrowed.stack));
});

test('the template\'s parameter constraints hold for the construct\'s values, and the ones conditions read are literal', () => {
  // CfnInclude drops the parameters it replaces, with their AllowedPattern: the construct checks them itself.
  assert.throws(() => setUp({ iamUserPath: '' }), /IamUserPath = "": does not match/);
  assert.throws(() => setUp({ iamUserPath: '/*/' }), /IamUserPath/);
  assert.throws(() => setUp({ iamUserTag: 'a=b"}]}' }), /IamUserTag = .*does not match/);
  assert.throws(() => setUp({ logRetention: 2 as never }), /LogRetentionDays = "2": not one of/);
  const app = new App();
  const stack = new Stack(app, 'Tokens');
  const path = new CfnParameter(stack, 'Path', { default: '/' });
  assert.throws(
    () => new RotorFunctions(stack, 'Rotor', { code: RotorCode.fromCargoLambda(CODE), iamUserPath: path.valueAsString }),
    /IamUserPath must be a literal/,
  );
  // An empty element is dropped, not read as set by one condition and unset by another.
  assert.throws(() => setUp({ directoryArns: ['', 'arn:aws:ds:us-east-1:123456789012:directory/d-1'] }), /needs network/);
  const { stack: empty } = setUp({ directoryArns: [''] });
  assert.deepEqual(Template.fromStack(empty).toJSON().Conditions.HasDirectories, { 'Fn::Equals': ['false', 'true'] });
});

test('a rotation that pins a user serves one secret; an admin secret must have its full ARN', () => {
  const { stack, rotor } = setUp();
  const master = secret(stack, 'Master');
  const pinned = rotor.postgres({ strategy: 'alternating-users', adminSecret: master, user: 'alice@db:5432' });
  secret(stack, 'Alice').addRotationSchedule('Rotation', { rotationLambda: pinned });
  secret(stack, 'Bob').addRotationSchedule('Rotation', { rotationLambda: pinned });
  assert.throws(() => Template.fromStack(stack), /share one rotation that pins rotor:user=alice@db:5432/);

  const other = setUp();
  const byName = secretsmanager.Secret.fromSecretNameV2(other.stack, 'ByName', 'db-master');
  assert.throws(() => other.rotor.mysql({ strategy: 'alternating-users', adminSecret: byName }), /fromSecretCompleteArn/);
});

test('a secret scheduled through its target attachment is tagged, and two builds of one function are refused', () => {
  const { stack, rotor } = setUp();
  const target = secret(stack, 'Attached');
  const attachment = new secretsmanager.SecretTargetAttachment(stack, 'Attachment', {
    secret: target,
    target: { asSecretAttachmentTarget: () => ({ targetId: 'db-1', targetType: secretsmanager.AttachmentTargetType.RDS_DB_INSTANCE }) },
  });
  attachment.addRotationSchedule('Rotation', { rotationLambda: rotor.postgres() });
  assert.equal(tagsOf(Template.fromStack(stack), 'Attached')['rotor:function'], 'postgres');

  const both = cargoLambdaOutput();
  fs.writeFileSync(path.join(both, 'rotate-postgres', 'bootstrap.zip'), 'old');
  assert.throws(() => setUp({ code: RotorCode.fromCargoLambda(both) }), /both bootstrap and bootstrap.zip/);
});

test('an alert topic of the app lets EventBridge and the alarms publish; another\'s is named in a warning', () => {
  const app = new App();
  const stack = new Stack(app, 'Alerts', { env: { account: '123456789012', region: 'us-east-1' } });
  const topic = new sns.Topic(stack, 'Alerts');
  new RotorFunctions(stack, 'Rotor', { code: RotorCode.fromCargoLambda(CODE), alertTopic: topic });
  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Action: 'sns:Publish',
          Principal: { Service: ['events.amazonaws.com', 'cloudwatch.amazonaws.com'] },
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        }),
      ]),
    },
  });
  assert.deepEqual(template.toJSON().Conditions.CreatesAlertTopic, { 'Fn::Equals': ['false', 'true'] }, 'no topic of its own');

  const other = setUp({ alertTopic: sns.Topic.fromTopicArn(new Stack(new App(), 'Ops'), 'Ops', 'arn:aws:sns:us-east-1:123456789012:ops') });
  assert.equal(Annotations.fromStack(other.stack).findWarning('*', Match.stringLikeRegexp('events.amazonaws.com')).length, 1);
});

test('a secret of another stack cannot be tagged from here, and the synthesis says which tags to set', () => {
  const { stack, rotor } = setUp();
  const other = secretsmanager.Secret.fromSecretCompleteArn(
    stack,
    'Imported',
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:shared-AbCdEf',
  );
  other.addRotationSchedule('Rotation', { rotationLambda: rotor.custom() });
  const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('rotor:function=custom'));
  assert.equal(warnings.length, 1);
});
