// when.mjs: sizes and times as the pages show them, in the page's language (the lang
// of <html>, which i18n.mjs sets): "3.4 MB", "12 Jan 2026, 10:00", "3 days ago".
// Pure apart from reading that language and the clock, which tests pass in.

export function pageLocale() {
	const l = typeof document !== 'undefined' && document.documentElement.lang;
	return l || (typeof navigator !== 'undefined' && navigator.language) || 'en';
}

const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];

// Binary multiples with the usual short names (what mail clients and quotas show).
export function formatSize(bytes, locale = pageLocale()) {
	let v = Math.max(0, Number(bytes) || 0), i = 0;
	while (v >= 1024 && i < UNITS.length - 1) {
		v /= 1024;
		i++;
	}
	return new Intl.NumberFormat(locale, {
		style: 'unit',
		unit: UNITS[i],
		unitDisplay: i === 0 ? 'long' : 'short', // "848 bytes", not "848 byte"
		maximumFractionDigits: i === 0 || v >= 100 ? 0 : 1,
	}).format(v);
}

// A JMAP UTCDate string, or unix seconds (a number) -> Date; null when neither.
export function toDate(v) {
	if (v === null || v === undefined || v === '')
		return null;
	const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
	return Number.isNaN(d.getTime()) ? null : d;
}

export function formatAbsolute(v, locale = pageLocale()) {
	const d = toDate(v);
	if (!d)
		return '';
	return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

const STEPS = [
	['second', 60],
	['minute', 60],
	['hour', 24],
	['day', 7],
	['week', 4.345],
	['month', 12],
	['year', Infinity],
];

// "3 days ago", "yesterday", "in 2 hours" (Intl.RelativeTimeFormat, numeric: auto).
export function formatRelative(v, locale = pageLocale(), now = Date.now()) {
	const d = toDate(v);
	if (!d)
		return '';
	let diff = (d.getTime() - now) / 1000;
	const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
	for (const [unit, size] of STEPS) {
		if (Math.abs(diff) < size)
			return rtf.format(Math.round(diff), unit);
		diff /= size;
	}
	return rtf.format(Math.round(diff), 'year');
}
