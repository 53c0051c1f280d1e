/**
 * Date detection (reference §3): templates, datepattern values, strptime fields, time zones.
 */
export { DateDetector, type DateDetectorOptions, type DetectedDate } from './detector.ts';
export { DEFAULT_PATTERNS, defaultTemplateList } from './defaults.ts';
