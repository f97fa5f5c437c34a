import { builtinStrategies } from '../strategy-files/load.js';

export async function listStrategies(): Promise<void> {
  for (const strategy of await builtinStrategies()) {
    process.stdout.write(`${strategy.name}@${strategy.version}\t${strategy.description}\n`);
  }
}
