import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CatalogueEntry } from './catalogue';

/**
 * Where each function's code is: a directory holding its `bootstrap` (or `bootstrap.zip`), which the construct
 * uploads as an asset.
 */
export abstract class RotorCode {
  /**
   * The output of `cargo lambda build --release --arm64` (or `--x86-64`): `<dir>/<binary>/bootstrap`, or
   * `bootstrap.zip` with `--output-format zip`. `dir` is usually the workspace's `target/lambda`.
   */
  public static fromCargoLambda(dir: string): RotorCode {
    return new DirectoryCode(dir, (f) => f.binary, 'cargo lambda build --release --arm64 (in the rotor workspace)');
  }

  /** The output of `make package` (`sam build`): `<dir>/<logical id>/bootstrap`, usually `.aws-sam/build`. */
  public static fromSamBuild(dir: string): RotorCode {
    return new DirectoryCode(dir, (f) => f.logicalId, 'make package (in the rotor workspace)');
  }

  /** Prebuilt assets anywhere: `locate` gives each function's directory (holding `bootstrap` or `bootstrap.zip`). */
  public static fromAssetDirectories(locate: (binary: string) => string): RotorCode {
    return new DirectoryCode('', (f) => locate(f.binary), 'a build of the rotor workspace');
  }

  /** The asset path of one function; throws, naming the build that writes it, when it is missing. */
  public abstract assetPath(fn: CatalogueEntry): string;
}

class DirectoryCode extends RotorCode {
  constructor(
    private readonly dir: string,
    private readonly name: (fn: CatalogueEntry) => string,
    private readonly build: string,
  ) {
    super();
  }

  public assetPath(fn: CatalogueEntry): string {
    const dir = path.resolve(this.dir, this.name(fn));
    const zip = path.join(dir, 'bootstrap.zip');
    const binary = path.join(dir, 'bootstrap');
    if (fs.existsSync(zip) && fs.existsSync(binary)) {
      // One of them is left from an earlier build (cargo lambda removes neither): deploying the older is the risk.
      throw new Error(`rotor: ${dir} holds both bootstrap and bootstrap.zip: remove the one of the build you do not deploy`);
    }
    if (fs.existsSync(zip)) {
      return zip;
    }
    if (fs.existsSync(binary)) {
      return dir;
    }
    throw new Error(`rotor: no code for ${fn.binary}: ${dir} holds neither bootstrap nor bootstrap.zip; build it with ${this.build}`);
  }
}
