// Hostile strings in any plan field of the k3s tree (test/support/k8s-hostile.ts): a file of
// its own so that this CPU-heavy sweep runs beside the other variant's.
import { hostileStringSweep } from '../../../test/support/k8s-hostile.js';

hostileStringSweep('k3s');
