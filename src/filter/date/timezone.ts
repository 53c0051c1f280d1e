/**
 * Fixed-offset time zones (reference §3.6): `logtimezone`, `%z`, `%Z`, `%Exz` values.
 *
 * A zone is an optional abbreviation followed by an optional `±HH`, `±HHMM` or `±HH:MM` offset; the
 * result is the abbreviation's offset plus the explicit one, in minutes east of UTC. Abbreviations are
 * fixed offsets: `CET` is always +1, there is no DST switching (that is fail2ban's behaviour).
 */
import { DateError, type ErrorLocation } from '../../errors.ts';

/** Offset in hours → abbreviations, as fail2ban's table lists them. */
const ABBREVIATIONS: ReadonlyArray<readonly [number, string]> = [
  [-12, 'Y'],
  [-11, 'X NUT SST'],
  [-10, 'W CKT HAST HST TAHT TKT'],
  [-9, 'V AKST GAMT GIT HADT HNY'],
  [-8, 'U AKDT CIST HAY HNP PST PT'],
  [-7, 'T HAP HNR MST PDT'],
  [-6, 'S CST EAST GALT HAR HNC MDT'],
  [-5, 'R CDT COT EASST ECT EST ET HAC HNE PET'],
  [-4, 'Q AST BOT CLT COST EDT FKT GYT HAE HNA PYT'],
  [-3, 'P ADT ART BRT CLST FKST GFT HAA PMST PYST SRT UYT WGT'],
  [-2, 'O BRST FNT PMDT UYST WGST'],
  [-1, 'N AZOT CVT EGT'],
  [0, 'Z EGST GMT UTC WET WT'],
  [1, 'A CET DFT WAT WEDT WEST'],
  [2, 'B CAT CEDT CEST EET SAST WAST'],
  [3, 'C EAT EEDT EEST IDT MSK'],
  [4, 'D AMT AZT GET GST KUYT MSD MUT RET SAMT SCT'],
  [5, 'E AMST AQTT AZST HMT MAWT MVT PKT TFT TJT TMT UZT YEKT'],
  [6, 'F ALMT BIOT BTT IOT KGT NOVT OMST YEKST'],
  [7, 'G CXT DAVT HOVT ICT KRAT NOVST OMSST THA WIB'],
  [8, 'H ACT AWST BDT BNT CAST HKT IRKT KRAST MYT PHT SGT ULAT WITA WST'],
  [9, 'I AWDT IRKST JST KST PWT TLT WDT WIT YAKT'],
  [10, 'K AEST ChST PGT VLAT YAKST YAPT'],
  [11, 'L AEDT LHDT MAGT NCT PONT SBT VLAST VUT'],
  [12, 'M ANAST ANAT FJT GILT MAGST MHT NZST PETST PETT TVT WFT'],
  [13, 'FJST NZDT'],
  [11.5, 'NFT'],
  [10.5, 'ACDT LHST'],
  [9.5, 'ACST'],
  [6.5, 'CCT MMT'],
  [5.75, 'NPT'],
  [5.5, 'SLT'],
  [4.5, 'AFT IRDT'],
  [3.5, 'IRST'],
  [-2.5, 'HAT NDT'],
  [-3.5, 'HNT NST NT'],
  [-4.5, 'HLV VET'],
  [-9.5, 'MART MIT'],
];

/** Abbreviation → offset in minutes east of UTC. */
export const ZONE_ABBREVIATIONS: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  for (const [hours, names] of ABBREVIATIONS) {
    for (const name of names.split(' ')) map.set(name, Math.trunc(hours * 60));
  }
  return map;
})();

// Case-sensitive on purpose: a lower-case "utc" is not a zone (fail2ban rejects it too).
const FIXED_OFFSET_ZONE = /^([A-Z](?:[A-Z]{2,4})?)?([+-][01]\d(?::?\d{2})?)?$/;

/**
 * Offset in minutes east of UTC for a zone text, or NaN when the text is not a zone or names an
 * unknown abbreviation. Used per log line, so it does not throw.
 */
export function zoneOffsetMinutes(text: string): number {
  const m = FIXED_OFFSET_ZONE.exec(text);
  if (m === null) return NaN;
  const abbr = m[1];
  const offset = m[2];
  let minutes = 0;
  if (abbr !== undefined) {
    const known = ZONE_ABBREVIATIONS.get(abbr);
    if (known === undefined) return NaN;
    minutes = known;
  }
  if (offset !== undefined) {
    const sign = offset.charCodeAt(0) === 45 /* - */ ? -1 : 1;
    const hours = Number(offset.slice(1, 3));
    if (offset.length <= 3) return minutes + sign * hours * 60;
    const mins = Number(offset[3] === ':' ? offset.slice(4, 6) : offset.slice(3, 5));
    minutes += sign * (hours * 60 + mins);
  }
  return minutes;
}

/**
 * Validates a configured zone (`logtimezone`, fail2ban-regex `--timezone`) and returns its offset in
 * minutes east of UTC. Throws "Unknown or unsupported time zone" like fail2ban.
 */
export function parseTimeZone(text: string, where: ErrorLocation = {}): number {
  const minutes = zoneOffsetMinutes(text);
  if (Number.isNaN(minutes)) {
    throw new DateError(`Unknown or unsupported time zone: '${text}'`, where);
  }
  return minutes;
}
