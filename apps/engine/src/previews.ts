// Small pictures that help people choose: one sample per class label (class picker thumbnails)
// and one per hidden unit (unit picker preview). Computed on demand by the sampler (a worker thread,
// or the main thread with 0 workers) with a short batched chain, one step per call so that room steps
// interleave with it, and cached.
import type { Pack, Term } from '@ppgn/core';
import { RoomError } from './rooms/model';
import type { Sampler } from './sampling/protocol';

const STEPS = 30;
const UNIT_CACHE = 256;

export class Previews {
  private classSheets = new Map<string, Promise<Map<string, Buffer>>>();
  private units = new Map<string, Promise<Buffer>>();

  private next = 0;

  constructor(private readonly sampler: Sampler) {}

  /** PNG of a sample for `label` of a classes condition (all labels of the condition are made at once). */
  async classThumb(packId: string, pack: Pack, conditionId: string, label: string): Promise<Buffer> {
    const spec = pack.manifest.conditions.find((c) => c.id === conditionId);
    if (!spec || spec.kind !== 'classes')
      throw new RoomError(`no classes condition "${conditionId}" in pack ${packId}`, 'not_found');
    if (!spec.labels.includes(label)) throw new RoomError(`no label "${label}" in ${conditionId}`, 'not_found');
    const key = `${packId}/${conditionId}`;
    let sheet = this.classSheets.get(key);
    if (!sheet) {
      const terms = spec.labels.map((l): Term[] => [
        { kind: 'class', labels: [l], variant: 'logsoftmax', condition: conditionId, weight: 1 },
      ]);
      sheet = this.sample(packId, terms).then((pngs) => new Map(spec.labels.map((l, i) => [l, pngs[i]!])));
      sheet.catch(() => this.classSheets.delete(key));
      this.classSheets.set(key, sheet);
    }
    return (await sheet).get(label)!;
  }

  /**
   * Make every class condition's thumbnails now, one sheet after another (each a short batched chain whose
   * steps interleave with the rooms'), so that the class picker of a fresh engine shows pictures, not dots.
   */
  async warm(packs: { id: string; pack: Pack }[], idle: () => boolean = () => true): Promise<void> {
    for (const { id, pack } of packs)
      for (const c of pack.manifest.conditions)
        if (c.kind === 'classes' && c.labels.length > 0) {
          // only while no room is sampled: a sheet is a batch of chains that would delay the rooms' frames
          // (when rooms keep running, the thumbnails are made when first asked for, as before)
          // idle for 5 s in a row (rooms are usually created within seconds of a start when there is load)
          for (let waited = 0, quiet = 0; quiet < 5; waited++) {
            if (waited > 600) return;
            await new Promise((r) => setTimeout(r, 1000).unref());
            quiet = idle() ? quiet + 1 : 0;
          }
          await this.classThumb(id, pack, c.id, c.labels[0]!);
        }
  }

  /** a unit preview made (or being made) already */
  has(packId: string, conditionId: string, layer: string, channel: number): boolean {
    return this.units.has(`${packId}/${conditionId}/${layer}/${channel}`);
  }

  async unitPreview(packId: string, pack: Pack, conditionId: string, layer: string, channel: number): Promise<Buffer> {
    const spec = pack.manifest.conditions.find((c) => c.id === conditionId);
    if (!spec || spec.kind !== 'units')
      throw new RoomError(`no units condition "${conditionId}" in pack ${packId}`, 'not_found');
    const l = spec.layers.find((x) => x.name === layer);
    if (!l)
      throw new RoomError(
        `no layer "${layer}" in ${conditionId} (layers: ${spec.layers.map((x) => x.name).join(', ')})`,
        'not_found',
      );
    if (!Number.isInteger(channel) || channel < 0 || channel >= l.channels)
      throw new RoomError(`channel must be 0…${l.channels - 1}`);
    const key = `${packId}/${conditionId}/${layer}/${channel}`;
    let p = this.units.get(key);
    if (!p) {
      p = this.sample(packId, [[{ kind: 'unit', layer, channel, net: spec.net, weight: 1 }]]).then((x) => x[0]!);
      p.catch(() => this.units.delete(key));
      this.units.set(key, p);
      if (this.units.size > UNIT_CACHE) this.units.delete(this.units.keys().next().value!);
    }
    return p;
  }

  private async sample(packId: string, termSets: Term[][]): Promise<Buffer[]> {
    const key = `preview${++this.next}`;
    await this.sampler.previewOpen(key, packId, termSets, STEPS);
    for (let s = 0; s < STEPS; s++) await this.sampler.previewStep(key);
    const pngs = await this.sampler.previewFinish(key);
    return pngs.map((b) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  }
}
