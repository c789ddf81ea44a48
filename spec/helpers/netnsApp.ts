/** The app's channel in the link specs: made on both sides in the create hook, with a fixed id (no in-band announcement). */
export const APP_CHANNEL = { label: 'app', id: 7 } as const;
