/**
 * The rotation functions of `template.yaml`, as the construct names them: each engine's function (and, where it has
 * one, its alternating-users function), the `rotor:function` tag its role requires of a secret, and which strategies
 * it takes.
 */

/** A rotation strategy, as the functions' `ROTATION_STRATEGY` and the `rotor:strategy` tag spell it. */
export type Strategy = 'single-user' | 'admin' | 'alternating-users';

/** One function of the template. */
export interface CatalogueEntry {
  /** Its logical id in `template.yaml`. */
  readonly logicalId: string;
  /** The workspace binary it runs (`cargo lambda build` writes `target/lambda/<binary>/bootstrap`). */
  readonly binary: string;
  /** The `rotor:function` tag value its role requires of the secrets it rotates. */
  readonly tag: string;
}

/** An engine: its functions and the template parameter that sets its function-wide strategy. */
export interface Engine {
  /** The function for single-user and admin (or the engine's only function). */
  readonly main: CatalogueEntry;
  /** The alternating-users function, where the engine has a separate one. */
  readonly alternating?: CatalogueEntry;
  /** The strategies a secret of this engine may ask for; none for engines without strategies. */
  readonly strategies: readonly Strategy[];
  /** The template parameter holding the main function's strategy (`RotationStrategy`, ...), if it has one. */
  readonly strategyParameter?: 'RotationStrategy' | 'RedisRotationStrategy' | 'LdapRotationStrategy';
}

function entry(logicalId: string, binary: string): CatalogueEntry {
  return { logicalId, binary, tag: binary.replace(/^rotate-/, '') };
}

/** The engines, by the name of the construct's one-liner. */
export const ENGINES = {
  postgres: {
    main: entry('PostgresFunction', 'rotate-postgres'),
    alternating: entry('PostgresAlternatingFunction', 'rotate-postgres-alternating'),
    strategies: ['single-user', 'admin', 'alternating-users'],
    strategyParameter: 'RotationStrategy',
  },
  mysql: {
    main: entry('MysqlFunction', 'rotate-mysql'),
    alternating: entry('MysqlAlternatingFunction', 'rotate-mysql-alternating'),
    strategies: ['single-user', 'admin', 'alternating-users'],
    strategyParameter: 'RotationStrategy',
  },
  redshift: {
    main: entry('RedshiftFunction', 'rotate-redshift'),
    alternating: entry('RedshiftAlternatingFunction', 'rotate-redshift-alternating'),
    strategies: ['single-user', 'admin', 'alternating-users'],
    strategyParameter: 'RotationStrategy',
  },
  mongodb: {
    main: entry('MongoDbFunction', 'rotate-mongodb'),
    alternating: entry('MongoDbAlternatingFunction', 'rotate-mongodb-alternating'),
    strategies: ['single-user', 'admin', 'alternating-users'],
    strategyParameter: 'RotationStrategy',
  },
  redis: {
    main: entry('RedisFunction', 'rotate-redis'),
    strategies: ['admin', 'alternating-users'],
    strategyParameter: 'RedisRotationStrategy',
  },
  ldap: {
    main: entry('LdapFunction', 'rotate-ldap'),
    strategies: ['single-user', 'admin', 'alternating-users'],
    strategyParameter: 'LdapRotationStrategy',
  },
  redshiftAdmin: { main: entry('RedshiftAdminFunction', 'rotate-redshift-admin'), strategies: [] },
  documentDbAdmin: { main: entry('DocumentDbAdminFunction', 'rotate-documentdb-admin'), strategies: [] },
  elastiCache: { main: entry('ElastiCacheFunction', 'rotate-elasticache'), strategies: [] },
  elastiCacheAuthToken: { main: entry('ElastiCacheAuthTokenFunction', 'rotate-elasticache-auth-token'), strategies: [] },
  directory: { main: entry('DirectoryFunction', 'rotate-directory'), strategies: [] },
  iamAccessKey: { main: entry('IamAccessKeyFunction', 'rotate-iam-access-key'), strategies: [] },
  custom: { main: entry('CustomFunction', 'rotate-custom'), strategies: [] },
} as const satisfies Record<string, Engine>;

/** An engine's name. */
export type EngineName = keyof typeof ENGINES;

/** Every function of the template, once. */
export function allFunctions(): CatalogueEntry[] {
  return Object.values(ENGINES).flatMap((e: Engine) => (e.alternating ? [e.main, e.alternating] : [e.main]));
}
