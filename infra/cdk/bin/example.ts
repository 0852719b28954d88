/**
 * The example app: rotor beside a PostgreSQL master secret (rotated single-user) and an application user's secret
 * (rotated as alternating users with the master as admin), as a platform team would write it. `make test` synthesizes
 * it (`cdk synth`), lints the template, and runs each scheduled secret through its function's createSecret.
 *
 * Context (`-c key=value`): `codeDir` (default `../../target/lambda`, `cargo lambda build`'s output), `dbHost`,
 * `dbPort`, `tlsCaBundle`.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

import { RotorCode, RotorFunctions } from '../lib';

const app = new App();
const context = (key: string, fallback: string): string => String(app.node.tryGetContext(key) ?? fallback);
const stack = new Stack(app, 'RotorExample', { env: { account: '123456789012', region: 'us-east-1' } });
const host = context('dbHost', 'db.example.internal');
const port = Number(context('dbPort', '5432'));

// One customer-managed key for the secrets and the functions' logs: CloudWatch Logs may use it for this account's
// log groups only.
const key = new kms.Key(stack, 'SecretsKey', { enableKeyRotation: true, description: 'rotor example: secrets and logs' });
key.addToResourcePolicy(
  new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:*` } },
  }),
);

const rotor = new RotorFunctions(stack, 'Rotor', {
  code: RotorCode.fromCargoLambda(context('codeDir', '../../target/lambda')),
  createAlertTopic: true,
  rotationEventBus: 'rotor-rotations',
  enableConfigRules: true,
  tlsCaBundle: app.node.tryGetContext('tlsCaBundle'),
  encryptionKey: key,
});

const master = new secretsmanager.Secret(stack, 'MasterSecret', {
  encryptionKey: key,
  description: 'The database master user (rotated single-user; the admin of the application user).',
  generateSecretString: {
    secretStringTemplate: JSON.stringify({ engine: 'postgres', host, port, username: 'rotor_master', dbname: 'postgres' }),
    generateStringKey: 'password',
    passwordLength: 32,
    excludeCharacters: '/@"\'\\',
  },
});
master.addRotationSchedule('Rotation', {
  rotationLambda: rotor.postgres({ strategy: 'single-user' }),
  automaticallyAfter: Duration.days(30),
});

const appUser = new secretsmanager.Secret(stack, 'AppSecret', {
  encryptionKey: key,
  description: 'The application user (alternating users: app and app_clone, changed by the master).',
  generateSecretString: {
    secretStringTemplate: stack.toJsonString({
      engine: 'postgres',
      host,
      port,
      username: 'app',
      dbname: 'postgres',
      masterarn: master.secretArn,
    }),
    generateStringKey: 'password',
    passwordLength: 32,
    excludeCharacters: '/@"\'\\',
  },
});
appUser.addRotationSchedule('Rotation', {
  rotationLambda: rotor.postgres({ strategy: 'alternating-users', adminSecret: master, user: `app@${host}:${port}` }),
  automaticallyAfter: Duration.days(7),
});

app.synth();
