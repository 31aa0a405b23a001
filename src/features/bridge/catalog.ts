import type { Host } from '../../host/host';
import { type ModelInfo, slug } from '../../protocol';

export type Target = { kind: 'character'; avatar: string } | { kind: 'group'; id: string };

export interface Catalog {
    models: ModelInfo[];
    targets: Map<string, Target>;
}

/** Adds `-2`, `-3`, … to ids already taken, in a stable order, so ids stay the same across restarts. */
function unique(base: string, taken: Set<string>): string {
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
    taken.add(id);
    return id;
}

/** A character's model id before de-duplication: `st-char-<avatar file name without extension>`. */
export const characterModelBase = (avatar: string) => `st-char-${slug(avatar.replace(/\.[a-z0-9]+$/i, ''))}`;

/**
 * ST's characters and groups as bridge models with stable, readable ids: `st-char-<avatar file base>`
 * (the avatar is the card's stable key; renaming a character keeps it), `st-group-<group name>`.
 */
export function buildCatalog(host: Host): Catalog {
    const models: ModelInfo[] = [];
    const targets = new Map<string, Target>();
    const taken = new Set<string>();
    const chars = [...host.characters()].sort((a, b) => a.avatar.localeCompare(b.avatar));
    for (const c of chars) {
        const id = unique(characterModelBase(c.avatar), taken);
        models.push({ id, name: c.name, kind: 'character' });
        targets.set(id, { kind: 'character', avatar: c.avatar });
    }
    const groups = [...host.groups()].sort((a, b) => a.id.localeCompare(b.id));
    for (const g of groups) {
        const id = unique(`st-group-${slug(g.name)}`, taken);
        const members = g.members.map((m) => host.characters().find((c) => c.avatar === m)?.name ?? m);
        models.push({ id, name: g.name, kind: 'group', members });
        targets.set(id, { kind: 'group', id: g.id });
    }
    return { models, targets };
}
