// Entry point used by bin/wharf.js.
import { main } from './main.js';

process.exitCode = await main();
