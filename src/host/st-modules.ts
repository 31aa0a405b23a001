/**
 * ST 1.12.6 offers some of what Ensemble needs only as ES module exports. They are imported at run
 * time, relative to this bundle (`data/<user>/extensions/<folder>/dist/index.js`, served as
 * `/scripts/extensions/third-party/<folder>/dist/index.js`), so nothing of ST is bundled.
 * The path is built at run time so the bundler leaves the import alone.
 */
const FROM_DIST_TO_SCRIPTS = '../../../../';

export function importStModule<T>(pathUnderScripts: string): Promise<T> {
    const url = new URL(FROM_DIST_TO_SCRIPTS + pathUnderScripts, import.meta.url).href;
    return import(/* @vite-ignore */ url) as Promise<T>;
}

/** `/script.js` sits one level above `/scripts/`. */
export function importStRoot<T>(file: string): Promise<T> {
    return importStModule<T>(`../${file}`);
}

export interface SlashCommandModules {
    SlashCommand: { fromProps(props: Record<string, unknown>): unknown };
    SlashCommandArgument: { fromProps(props: Record<string, unknown>): unknown };
    SlashCommandNamedArgument: { fromProps(props: Record<string, unknown>): unknown };
    SlashCommandEnumValue: new (value: string) => unknown;
    ARGUMENT_TYPE: Record<string, string>;
}

/** The SlashCommand classes: on `getContext()` in newer ST, imported from `scripts/slash-commands/` in 1.12.6. */
export async function slashCommandModules(ctx: Record<string, unknown>): Promise<SlashCommandModules | null> {
    if (ctx.SlashCommand && ctx.SlashCommandArgument && ctx.SlashCommandNamedArgument && ctx.ARGUMENT_TYPE && ctx.SlashCommandEnumValue) {
        return ctx as unknown as SlashCommandModules;
    }
    try {
        const [cmd, args, en] = await Promise.all([
            importStModule<Record<string, unknown>>('slash-commands/SlashCommand.js'),
            importStModule<Record<string, unknown>>('slash-commands/SlashCommandArgument.js'),
            importStModule<Record<string, unknown>>('slash-commands/SlashCommandEnumValue.js'),
        ]);
        return { ...cmd, ...args, ...en } as unknown as SlashCommandModules;
    } catch {
        return null;
    }
}
