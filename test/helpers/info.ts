/** The keys of `cellstack info --json`, as the README documents them. */
export const INFO_KEYS = [
  'manufacturer',
  'model',
  'revision',
  'imei',
  'imsi',
  'iccid',
  'sim',
  'registration',
  'signal',
  'operator',
] as const;
