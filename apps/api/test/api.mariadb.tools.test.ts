// apps/api behaviour against real MariaDB and Redis processes (see suite.ts).
import { apiSuite } from './suite.js';

apiSuite('mariadb');
