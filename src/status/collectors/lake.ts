/**
 * The lake's dependencies (run and sink): the catalog, and the storage of its files when it is S3
 * (a folder is the local file system). A batch or rollup committed says both answered; a failure
 * is the storage's when it names S3 or HTTP (httpfs's errors), else the catalog's.
 */
import type { Dependencies, DependencyState } from "../dependencies.ts";
import { errorMessage } from "../../errors.ts";

export interface LakeDependencies {
  catalog: DependencyState;
  storage: DependencyState | undefined;
  /** Something committed into the lake. */
  committed(): void;
  failed(e: unknown): void;
}

export function lakeDependencies(dependencies: Dependencies, catalog: string, lake: string | undefined): LakeDependencies {
  const catalogDep = dependencies.add("catalog", "catalog", catalog);
  const storage = lake?.startsWith("s3://") ? dependencies.add("lake storage", "storage", lake) : undefined;
  return {
    catalog: catalogDep,
    storage,
    committed() {
      catalogDep.up();
      storage?.up();
    },
    failed(e) {
      if (storage && /\bs3:\/\/|\bHTTP\b|httpfs/i.test(errorMessage(e))) storage.down(e);
      else catalogDep.down(e);
    },
  };
}
