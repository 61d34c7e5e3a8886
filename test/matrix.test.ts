import { strict as assert } from 'assert';
import { defaultMatrix, matrixCases, matrixSize, parseAxis, INVALID_FLAG } from '../lib/sweep/matrix';
import { fuzzCases } from '../lib/sweep/fuzz';
import { casesOfColumns } from '../lib/probe';

describe('sweep matrix', () => {
  it('the default matrix covers domains 0..AF_MAX+3, types 0..15, five flag sets and the protocol list', () => {
    const m = defaultMatrix(46);
    assert.deepEqual([m.domains[0], m.domains[m.domains.length - 1]], [0, 49]);
    assert.equal(m.types.length, 16);
    assert.deepEqual(m.flags, [0, 0o2000000, 0o4000, 0o2004000, INVALID_FLAG]);
    for (const p of [0, 6, 17, 132, 255, 262, 263, 768, -1, 65542, 22, 15]) assert.ok(m.protocols.includes(p), `protocol ${p}`);
    assert.equal(new Set(m.protocols).size, m.protocols.length);
    let n = 0;
    for (const _ of matrixCases(m)) n++;
    assert.equal(n, matrixSize(m));
  });

  it('takeColumns(n) walks the cases in iteration order, batch after batch, whatever n and the axes\' lengths', () => {
    const shapes = [
      defaultMatrix(46),
      { domains: [1, 2], types: [1], flags: [0, 0o4000], protocols: [0, 6, 17] },
      { domains: [7], types: [1, 2, 3], flags: [0], protocols: [0] },
      { domains: [1, 2], types: [], flags: [0], protocols: [0] },
      { domains: [], types: [1], flags: [0], protocols: [0] },
      { domains: [1], types: [1], flags: [0], protocols: [] },
    ];
    for (const m of shapes) {
      const all = [...matrixCases(m)];
      for (const n of [1, 2, 3, 7, 48, 2048, 1_000_000]) {
        const mc = matrixCases(m);
        const got = [];
        for (let b = mc.takeColumns(n); b !== null; b = mc.takeColumns(n)) {
          assert.ok(b.domains.length > 0 && b.domains.length <= n);
          assert.equal(b.types.length, b.domains.length);
          assert.equal(b.protocols.length, b.domains.length);
          for (const c of casesOfColumns(b)) got.push(c);
        }
        assert.deepEqual(got, all, `batches of ${n}`);
        assert.equal(mc.takeColumns(n), null, 'nothing after the end');
        // takeColumns() does not disturb iteration.
        assert.equal([...mc].length, all.length);
      }
    }
  });

  it('parses axes with names, numbers and ranges, and refuses empty or repeated values', () => {
    assert.deepEqual(parseAxis('AF_INET,AF_UNIX,40-42', 'domains'), [2, 1, 40, 41, 42]);
    assert.deepEqual(parseAxis('none,SOCK_CLOEXEC|SOCK_NONBLOCK,invalid', 'flags'), [0, 0o2004000, INVALID_FLAG]);
    assert.deepEqual(parseAxis('0,IPPROTO_TCP,htons(ETH_P_ALL),-1', 'protocols'), [0, 6, 768, -1]);
    assert.throws(() => parseAxis('', 'domains'), /empty/);
    assert.throws(() => parseAxis('1,,2', 'types'), /empty/);
    assert.throws(() => parseAxis('AF_INET,2', 'domains'), /listed twice/);
    assert.throws(() => parseAxis('5-1', 'domains'), /backwards/);
    assert.throws(() => parseAxis('SOCK_BOGUS', 'flags'), /unknown flag "SOCK_BOGUS"/);
  });

  it('random cases are the same for the same seed and include the int32 extremes', () => {
    const a = [...fuzzCases(5000, 7)];
    const b = [...fuzzCases(5000, 7)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, [...fuzzCases(5000, 8)]);
    const all = a.flatMap((c) => [c.domain, c.type, c.protocol]);
    assert.ok(all.includes(2147483647) && all.includes(-2147483648));
    assert.ok(all.every((x) => Number.isInteger(x) && x >= -2147483648 && x <= 2147483647));
  });
});
