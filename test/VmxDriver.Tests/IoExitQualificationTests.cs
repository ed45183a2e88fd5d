// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class IoExitQualificationTests
{
    private static IEnumerable<TestCaseData> Forms()
    {
        foreach (int size in new[] { 1, 2, 4 })
        {
            foreach (bool isIn in new[] { false, true })
            {
                foreach (bool isString in new[] { false, true })
                {
                    foreach (bool isRep in new[] { false, true })
                    {
                        foreach (bool isImmediate in new[] { false, true })
                        {
                            if ((isString && isImmediate) || (isRep && !isString))
                            {
                                continue; // no such instruction
                            }

                            yield return new TestCaseData(size, isIn, isString, isRep, isImmediate, (ushort)0xBEEF)
                                .SetDescription($"{(isIn ? "IN" : "OUT")}{(isString ? "S" : string.Empty)}{(isRep ? " REP" : string.Empty)} size {size} {(isImmediate ? "imm8" : "DX")}");
                        }
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(Forms))]
    public void Create_EveryForm_EncodesBitsPerSdmTable(int size, bool isIn, bool isString, bool isRep, bool isImmediate, ushort port)
    {
        // Act
        IoExitQualification q = IoExitQualification.Create(size, isIn, isString, isRep, isImmediate, port);

        // Assert: bits 2:0 size code (0, 1, 3), 3 direction, 4 string, 5 REP, 6 operand encoding, 15:7 zero,
        // 31:16 port, 63:32 zero.
        ulong raw = q.Raw;
        Assert.That(raw & 7, Is.EqualTo(size switch { 1 => 0UL, 2 => 1UL, _ => 3UL }));
        Assert.That((raw >> 3) & 1, Is.EqualTo(isIn ? 1UL : 0UL));
        Assert.That((raw >> 4) & 1, Is.EqualTo(isString ? 1UL : 0UL));
        Assert.That((raw >> 5) & 1, Is.EqualTo(isRep ? 1UL : 0UL));
        Assert.That((raw >> 6) & 1, Is.EqualTo(isImmediate ? 1UL : 0UL));
        Assert.That((raw >> 7) & 0x1FF, Is.Zero);
        Assert.That((raw >> 16) & 0xFFFF, Is.EqualTo((ulong)port));
        Assert.That(raw >> 32, Is.Zero);
        Assert.That((q.Size, q.IsIn, q.IsString, q.IsRep, q.IsImmediate, q.Port), Is.EqualTo((size, isIn, isString, isRep, isImmediate, port)));
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(8)]
    public void Create_InvalidSize_Throws(int size) =>
        Assert.That(() => IoExitQualification.Create(size, false, false, false, false, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
}
