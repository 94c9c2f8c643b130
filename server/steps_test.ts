import { assert, assertEquals } from "../tests/assert.ts";
import { mulberry32, normal } from "../bench/random.ts";
import { detectSteps, type NightPoint } from "./steps.ts";
import { replay } from "./steps_replay.ts";

function nights(values: number[], halfWidth = 0.01): NightPoint[] {
  return values.map((value, i) => ({ runId: `n${i}`, value, halfWidth }));
}

Deno.test("a 10% step that persists is caught on its second night; a one-night spike is not", () => {
  const flat = Array(12).fill(1).map((v, i) => v + 0.004 * Math.sin(i));
  const stepped = [...flat, ...Array(6).fill(1.1)];
  const found = detectSteps(nights(stepped));
  assertEquals(found.length, 1);
  assertEquals(found[0].at, 12);
  assert(Math.abs(found[0].ratio - 1.1) < 0.01);
  // The same size for one night only, then back: no step.
  assertEquals(detectSteps(nights([...flat, 1.1, ...flat])), []);
  // A drop is a step too (an improvement).
  assertEquals(detectSteps(nights([...flat, 0.85, 0.85, 0.85]))[0].at, 12);
});

Deno.test("a change smaller than the series' own noise is not reported", () => {
  const gauss = normal(mulberry32(3));
  // Nightly noise of 8% (sd): a 10% step is within it, so the detector stays quiet.
  const noisy = Array.from({ length: 40 }, (_, i) => (i < 20 ? 1 : 1.1) * (1 + 0.08 * gauss()));
  const alarms = detectSteps(nights(noisy));
  assert(alarms.length <= 1, `${alarms.length} alarms`);
});

Deno.test("flat noise stays under one false alarm per 20 nights over many series", () => {
  const gauss = normal(mulberry32(11));
  let alarms = 0, judged = 0;
  for (let s = 0; s < 200; s++) {
    const series = Array.from({ length: 40 }, () => 1 + 0.02 * gauss());
    alarms += detectSteps(nights(series, 0.02)).length;
    judged += series.length - 4;
  }
  assert(alarms / judged <= 1 / 20, `${alarms} alarms in ${judged} nights`);
});

Deno.test("replay(): quiet nights raise no alarm and a 10% step is caught within 2 nights", () => {
  const quiet = {
    ratios: Array.from({ length: 50 }, (_, i) => 1 + 0.002 * Math.sin(i)),
    halfWidths: [0.004],
  };
  const r = replay(quiet, { k: 4, series: 50 });
  assertEquals(r.falseAlarmsPerNight, 0);
  assertEquals(r.caughtWithin2, 1);
  // Nights that swing ±30% hide a 10% step.
  const loud = { ratios: [0.7, 1, 1.3, 0.8, 1.2], halfWidths: [0.02] };
  assert(replay(loud, { k: 4, series: 50 }).caughtWithin2 < 0.5);
});
