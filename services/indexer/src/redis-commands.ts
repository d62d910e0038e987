/** One Redis command as planned by the catalog writer: its name, then its arguments. */
export type RedisCommand = [command: string, ...args: (string | number)[]];

/** HSET's arguments for a record of fields: field, value, field, value... */
export function fieldArgs(fields: Record<string, string>): string[] {
  return Object.entries(fields).flat();
}
