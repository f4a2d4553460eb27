/**
 * Redis's pqsort (redis/src/pqsort.c: NetBSD's qsort, Bentley & McIlroy's
 * "Engineering a Sort Function", changed to sort only what a range of
 * result positions needs): GEOSEARCH / GEORADIUS sort with it when COUNT
 * cuts the result. It is not stable, so the order it leaves elements that
 * compare equal (points at the same distance) depends on its exact steps;
 * this is the same algorithm step for step, on array indices instead of
 * byte pointers, so ties come out in Redis's order.
 */

type Cmp<T> = (a: T, b: T) => number;

function swap<T>(arr: T[], i: number, j: number): void {
  const t = arr[i]!;
  arr[i] = arr[j]!;
  arr[j] = t;
}

/** vecswap: swaps the n elements from i with the n from j, in order. */
function vecswap<T>(arr: T[], i: number, j: number, n: number): void {
  for (let k = 0; k < n; k++) swap(arr, i + k, j + k);
}

function med3<T>(arr: T[], a: number, b: number, c: number, cmp: Cmp<T>): number {
  return cmp(arr[a]!, arr[b]!) < 0
    ? cmp(arr[b]!, arr[c]!) < 0
      ? b
      : cmp(arr[a]!, arr[c]!) < 0
        ? c
        : a
    : cmp(arr[b]!, arr[c]!) > 0
      ? b
      : cmp(arr[a]!, arr[c]!) < 0
        ? a
        : c;
}

function insertionSort<T>(arr: T[], a: number, n: number, cmp: Cmp<T>): void {
  for (let pm = a + 1; pm < a + n; pm++) {
    for (let pl = pm; pl > a && cmp(arr[pl - 1]!, arr[pl]!) > 0; pl--) swap(arr, pl, pl - 1);
  }
}

/** Whether the elements [s, s + len) hold none of the positions lrange..rrange (pqsort's byte-range test). */
function outside(s: number, len: number, lrange: number, rrange: number): boolean {
  return (lrange < s && rrange < s) || (lrange >= s + len && rrange >= s + len);
}

function sortPart<T>(arr: T[], a: number, n: number, cmp: Cmp<T>, lrange: number, rrange: number): void {
  for (;;) {
    let swapCnt = false;
    if (n < 7) return insertionSort(arr, a, n, cmp);
    let pm = a + Math.floor(n / 2);
    if (n > 7) {
      let pl = a;
      let pn = a + n - 1;
      if (n > 40) {
        const d = Math.floor(n / 8);
        pl = med3(arr, pl, pl + d, pl + 2 * d, cmp);
        pm = med3(arr, pm - d, pm, pm + d, cmp);
        pn = med3(arr, pn - 2 * d, pn - d, pn, cmp);
      }
      pm = med3(arr, pl, pm, pn, cmp);
    }
    swap(arr, a, pm);
    let pa = a + 1;
    let pb = a + 1;
    let pc = a + n - 1;
    let pd = a + n - 1;
    for (;;) {
      let c: number;
      while (pb <= pc && (c = cmp(arr[pb]!, arr[a]!)) <= 0) {
        if (c === 0) {
          swapCnt = true;
          swap(arr, pa, pb);
          pa++;
        }
        pb++;
      }
      while (pb <= pc && (c = cmp(arr[pc]!, arr[a]!)) >= 0) {
        if (c === 0) {
          swapCnt = true;
          swap(arr, pc, pd);
          pd--;
        }
        pc--;
      }
      if (pb > pc) break;
      swap(arr, pb, pc);
      swapCnt = true;
      pb++;
      pc--;
    }
    if (!swapCnt) return insertionSort(arr, a, n, cmp);
    const pn = a + n;
    let r = Math.min(pa - a, pb - pa);
    vecswap(arr, a, pb - r, r);
    r = Math.min(pd - pc, pn - pd - 1);
    vecswap(arr, pb, pn - r, r);
    if ((r = pb - pa) > 1 && !outside(a, r, lrange, rrange)) sortPart(arr, a, r, cmp, lrange, rrange);
    if ((r = pd - pc) > 1) {
      // Iterate rather than recurse, as pqsort.c.
      a = pn - r;
      n = r;
      if (!outside(a, n, lrange, rrange)) continue;
    }
    return;
  }
}

/** pqsort(arr, n, size, cmp, lrange, rrange): sorts enough for positions lrange..rrange to hold what a full sort would put there. */
export function pqsort<T>(arr: T[], cmp: Cmp<T>, lrange: number, rrange: number): void {
  sortPart(arr, 0, arr.length, cmp, lrange, rrange);
}
