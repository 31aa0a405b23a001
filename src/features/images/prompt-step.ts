import type { Host } from '../../host/host';
import type { ImagesSettings } from '../../settings/schema';
import { say, translatedError } from '../../shared/i18n';
import * as z from '../../shared/zod';
import { findProfile, listProfiles } from '../../core/profiles';
import { type PresetCache, applyRoute, planFor } from '../../core/route';
import { type PromptSubject, buildPromptMessages, cleanPromptReply, promptViaEndpoint } from './prompt';

const CompletionSchema = z.looseObject({
    choices: z.array(z.looseObject({ message: z.looseObject({ content: z.string() }) })).check(z.minLength(1)),
});

/**
 * Asks the chosen text LLM for an image prompt: Ensemble's own endpoint, a Connection Profile for this
 * request only (routed through ST's server like a group member's request, no global switch), or ST's
 * current connection (generateRaw, no chat context).
 */
export async function writePrompt(host: Host, settings: ImagesSettings, presets: PresetCache, subject: PromptSubject, signal: AbortSignal): Promise<string> {
    const messages = buildPromptMessages(subject, { systemPrompt: settings.systemPrompt, includeCard: settings.includeCard });
    switch (settings.promptSource) {
        case 'endpoint':
            return promptViaEndpoint({ ...settings.promptEndpoint, temperature: settings.temperature, maxTokens: settings.maxTokens },
                messages, { fetch: host.fetch, signal });
        case 'profile': {
            const profile = findProfile(listProfiles(host), settings.promptProfile);
            if (!profile) throw translatedError('IMAGE_NOT_CONFIGURED', 'ensemble.images.promptPickProfile');
            const plan = planFor(profile, { mainApi: 'openai', source: host.chatCompletionSource() });
            if (plan.kind !== 'route') throw translatedError('IMAGE_NOT_CONFIGURED', 'ensemble.images.promptProfileUnfit', { profile: profile.name, reason: say(plan.reason) });
            const body: Record<string, unknown> = { messages, stream: false, chat_completion_source: host.chatCompletionSource() };
            applyRoute(body, profile, await presets.get(profile.preset));
            // The panel's values win over the preset's sampling for this short, focused request.
            Object.assign(body, { temperature: settings.temperature, max_tokens: settings.maxTokens });
            const answer = CompletionSchema.safeParse(await host.chatCompletion(body, signal));
            if (!answer.success) throw translatedError('PROMPT_LLM_FAILED', 'ensemble.images.promptProfileNoMessage', { profile: profile.name });
            return cleanPromptReply(answer.data.choices[0]?.message.content ?? '');
        }
        case 'current': {
            const [system, ...rest] = messages;
            const text = await host.generateRaw(rest.map((m) => m.content).join('\n\n'), system?.content ?? '', settings.maxTokens);
            if (signal.aborted) throw translatedError('IMAGE_CANCELLED', 'ensemble.images.promptCancelled');
            return cleanPromptReply(typeof text === 'string' ? text : '');
        }
    }
}
