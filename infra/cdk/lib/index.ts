/**
 * rotor as a CDK construct library: `RotorFunctions` deploys the rotation functions of `template.yaml` with typed
 * properties, and its one-liners give the function for `secret.addRotationSchedule('Rotation', { rotationLambda })`,
 * binding the secret to it as rotor's trust model requires.
 */
export { allFunctions, ENGINES } from './catalogue';
export type { CatalogueEntry, Engine, EngineName, Strategy } from './catalogue';
export { RotorCode } from './code';
export { FUNCTION_TAG, RotorFunctions } from './functions';
export type { RotationOptions, RotorFunctionsProps, RotorNetwork, TlsMode } from './functions';
