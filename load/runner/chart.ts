/**
 * The run's chart as a PNG: for each kind of request, throughput (answered and errors per second)
 * above latency percentiles (p50, p95, p99 per second, log scale), drawn by uPlot — the library
 * the live dashboard uses — in headless Chromium (Debian's, installed by set-up), and captured.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { RequestSeries } from './series';

const ROOT = path.resolve(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UPLOT = path.join(ROOT, 'node_modules', 'uplot', 'dist');
const WIDTH = 1100;
const CHART_HEIGHT = 240;

/** A moment to mark on every chart (a fault injected), in seconds from the run's first sample. */
export interface ChartMark {
  t: number;
  label: string;
}

interface ChartSpec {
  title: string;
  unit: string;
  log: boolean;
  x: number[];
  series: { label: string; stroke: string; values: number[] }[];
}

function specsOf(series: RequestSeries[]): ChartSpec[] {
  return series
    .filter((s) => s.perSecond.length > 0)
    .flatMap((s) => {
      const x = s.perSecond.map((p) => p.t);
      return [
        {
          title: `${s.name}: answered per second`,
          unit: 'req/s',
          log: false,
          x,
          series: [
            {
              label: 'ok/s',
              stroke: '#2a7ab0',
              values: s.perSecond.map((p) => p.requests - p.errors),
            },
            { label: 'errors/s', stroke: '#c0392b', values: s.perSecond.map((p) => p.errors) },
          ],
        },
        {
          title: `${s.name}: latency per second`,
          unit: 'ms',
          log: true,
          x,
          series: [
            { label: 'p50', stroke: '#27ae60', values: s.perSecond.map((p) => p.p50) },
            { label: 'p95', stroke: '#e67e22', values: s.perSecond.map((p) => p.p95) },
            { label: 'p99', stroke: '#8e44ad', values: s.perSecond.map((p) => p.p99) },
          ],
        },
      ];
    });
}

// Runs in the page: one uPlot per spec, stacked.
function draw({
  specs,
  width,
  height,
  marks,
}: {
  specs: ChartSpec[];
  width: number;
  height: number;
  marks: ChartMark[];
}): void {
  // The page's globals, typed here: this project compiles without the DOM library.
  interface Element {
    appendChild(child: Element): void;
  }
  interface Plot {
    ctx: {
      save(): void;
      restore(): void;
      beginPath(): void;
      moveTo(x: number, y: number): void;
      lineTo(x: number, y: number): void;
      stroke(): void;
      fillText(text: string, x: number, y: number): void;
      strokeStyle: string;
      fillStyle: string;
      font: string;
    };
    bbox: { top: number; height: number };
    valToPos(value: number, scale: string, canvas: boolean): number;
  }
  const page = globalThis as unknown as {
    uPlot: new (opts: unknown, data: unknown, target: Element) => unknown;
    document: { body: Element; createElement(tag: string): Element };
  };
  for (const spec of specs) {
    const target = page.document.createElement('div');
    page.document.body.appendChild(target);
    new page.uPlot(
      {
        title: spec.title,
        width,
        height,
        scales: { x: { time: false }, y: spec.log ? { distr: 3 } : {} },
        legend: { live: false },
        cursor: { show: false },
        // A line and a label at each mark, over the plotting area (an anonymous function: the
        // page cannot see the bundler's helper that names functions).
        hooks: {
          draw: [
            (u: Plot) => {
              const { ctx, bbox } = u;
              ctx.save();
              ctx.strokeStyle = '#555';
              ctx.fillStyle = '#333';
              ctx.font = '11px sans-serif';
              for (const mark of marks) {
                const x = u.valToPos(mark.t, 'x', true);
                ctx.beginPath();
                ctx.moveTo(x, bbox.top);
                ctx.lineTo(x, bbox.top + bbox.height);
                ctx.stroke();
                ctx.fillText(mark.label, x + 3, bbox.top + 12);
              }
              ctx.restore();
            },
          ],
        },
        axes: [{ label: 'seconds' }, { label: spec.unit }],
        series: [
          {},
          ...spec.series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            width: 1.5,
            points: { show: false },
          })),
        ],
      },
      // uPlot's log scale cannot place 0: floor latencies at 0.01 ms.
      [
        spec.x,
        ...spec.series.map((s) => (spec.log ? s.values.map((v) => Math.max(v, 0.01)) : s.values)),
      ],
      target,
    );
  }
}

export async function writeChart(
  series: RequestSeries[],
  pngPath: string,
  title: string,
  marks: ChartMark[] = [],
): Promise<void> {
  const specs = specsOf(series);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH + 40, height: 400 } });
    await page.setContent(
      `<!doctype html><html><head><meta charset="utf-8"><style>` +
        `body{font-family:sans-serif;margin:16px;background:#fff}h1{font-size:16px}</style>` +
        `</head><body><h1></h1></body></html>`,
    );
    await page.locator('h1').evaluate((h, text) => (h.textContent = text), title);
    await page.addStyleTag({ content: fs.readFileSync(path.join(UPLOT, 'uPlot.min.css'), 'utf8') });
    await page.addScriptTag({
      content: fs.readFileSync(path.join(UPLOT, 'uPlot.iife.min.js'), 'utf8'),
    });
    await page.evaluate(draw, { specs, width: WIDTH, height: CHART_HEIGHT, marks });
    await page.screenshot({ path: pngPath, fullPage: true });
  } finally {
    await browser.close();
  }
}
