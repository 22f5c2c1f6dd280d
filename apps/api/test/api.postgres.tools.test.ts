// apps/api behaviour against real PostgreSQL 15 and Redis processes (see suite.ts).
import { apiSuite } from './suite.js';

apiSuite('postgres');
