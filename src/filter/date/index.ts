/**
 * Date detection (reference §3): templates, datepattern values, strptime fields, time zones.
 */
export { DateDetector, type DateDetectorOptions, type DetectedDate } from './detector.ts';
export { DateTemplate, createSpec, type TemplateSpec, type TemplateKind } from './template.ts';
export { DEFAULT_PATTERNS, defaultTemplateList } from './defaults.ts';
export { parseTimeZone, zoneOffsetMinutes, ZONE_ABBREVIATIONS } from './timezone.ts';
export { LINE_BEGIN, LINE_END, WORD_BEGIN, WORD_END } from './template-regex.ts';
