/**
 * The proxy's configuration as it runs: every section read and checked by src/config, and the
 * mapping rules compiled by their owner, the router, in the same round, so one ConfigError lists
 * every problem. The router compiled there is kept with the rules it was compiled from, so the
 * proxy and each reload take it instead of compiling the rules a second time.
 */
import type { MappingRuleConfig, UnmappedConfig } from '../config/mappings.js';
import { readConfigFile, readConfigText, type ReadConfigOptions } from '../config/read.js';
import type { ConfigOverrides, ProxyConfig } from '../config/types.js';
import { compileRouter, type Router, type RouterConfig } from '../mapping/router.js';

/**
 * Routers compiled while loading, by the rules array they were compiled from: that array ends up,
 * frozen, as the loaded config's `mappings`, and is dropped with it.
 */
const compiledRouters = new WeakMap<readonly MappingRuleConfig[], { readonly unmapped: UnmappedConfig; readonly router: Router }>();

function readOptions(overrides: ConfigOverrides | undefined): ReadConfigOptions {
  return {
    ...(overrides !== undefined && { overrides }),
    checkRules: (rules) => {
      compiledRouters.set(rules.mappings, { unmapped: rules.unmapped, router: compileRouter(rules) });
    },
  };
}

/** `file` is shown in messages as given; ProxyConfig.source is its absolute path. */
export function loadConfig(file: string, overrides?: ConfigOverrides): ProxyConfig {
  return readConfigFile(file, readOptions(overrides));
}

/** Validates configuration text. `source` names it in messages and becomes ProxyConfig.source. */
export function parseConfig(text: string, source: string, overrides?: ConfigOverrides): ProxyConfig {
  return readConfigText(text, source, readOptions(overrides));
}

/**
 * The router of a config's rules: the one compiled when the config was loaded, or, for a config
 * built in code, compiled now (throwing ConfigError when a rule is broken).
 */
export function routerFor(config: RouterConfig): Router {
  const loaded = compiledRouters.get(config.mappings);
  if (loaded !== undefined && loaded.unmapped === config.unmapped) return loaded.router;
  return compileRouter(config);
}
