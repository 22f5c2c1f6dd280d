// Where the official postgres image keeps its data. Up to 17 its PGDATA and its VOLUME are both
// /var/lib/postgresql/data; from 18 PGDATA is /var/lib/postgresql/<major>/docker and the VOLUME is
// /var/lib/postgresql (docker-library/postgres 18/*/Dockerfile), so that one volume can hold two
// majors' directories for pg_upgrade --link. Mounting the old path on 18 leaves the data in an
// anonymous volume. Pure.
import { parseImageReference } from '../spec/image-ref.js';

export interface PostgresData {
  /** where the data volume is mounted */
  mount: string;
  /** the data directory inside it */
  pgdata: string;
}

const OLD: PostgresData = { mount: '/var/lib/postgresql/data', pgdata: '/var/lib/postgresql/data' };

/** The major version a postgres tag or spec version names (18, 18.1, 18-alpine, 17.2-bookworm); a tag like a digest or `latest` names none. */
export function postgresMajor(versionOrTag: string | undefined): number | undefined {
  const m = /^(\d{1,2})(?:[.-]|$)/.exec(versionOrTag ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The layout of the image a component runs; an image whose tag names no major gets the layout of the pinned default (16). */
export function postgresData(image: string): PostgresData {
  const parsed = parseImageReference(image);
  const major = postgresMajor(parsed.ok ? parsed.ref.tag : undefined);
  return major !== undefined && major >= 18 ? { mount: '/var/lib/postgresql', pgdata: `/var/lib/postgresql/${major}/docker` } : OLD;
}
