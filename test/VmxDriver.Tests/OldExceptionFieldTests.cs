// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>The calibration that finds the engine's "previous exception" field in a saved context.</summary>
public sealed class OldExceptionFieldTests
{
    private const int Size = 64;

    [Test]
    public void Calibrated_OnTheLoadedEngine_FindsTheFieldThatMakesTheSecondPageFaultAPageFault()
    {
        // Act: the real calibration, on the engine the build copied (Unicorn 2.1.1).
        OldExceptionField field = OldExceptionField.Calibrated;
        OldExceptionProbe.Result plain = OldExceptionProbe.Run(null);
        OldExceptionProbe.Result reset = OldExceptionProbe.Run(field.Offset);

        // Assert: without the reset the second fault is a #DF; with it, three faults are three page faults.
        TestContext.Out.WriteLine($"old_exception at offset {field.Offset} of a {field.ContextSize}-byte context");
        Assert.That(plain.Vectors, Is.EqualTo(new[] { 14, 8 }), "the engine's own behaviour, which makes the reset necessary");
        Assert.That(field.IsNeeded, Is.True);
        Assert.That(reset.Vectors, Is.EqualTo(new[] { 14, 14, 14 }));
    }

    [Test]
    public void Candidates_FieldsFromMinusOneTo14_OnlyAlignedOnes()
    {
        // Arrange
        byte[] before = Filled(0);
        byte[] after = Filled(0);
        Put(before, 8, -1, after, 14);   // a candidate
        Put(before, 20, 5, after, 14);   // was not -1
        Put(before, 32, -1, after, 13);  // did not become 14
        Put(before, 44, -1, after, 14);  // another candidate
        BinaryPrimitives.WriteInt32LittleEndian(before.AsSpan(49), -1); // unaligned: never a field
        BinaryPrimitives.WriteInt32LittleEndian(after.AsSpan(49), 14);

        // Act
        List<int> found = OldExceptionField.Candidates(before, after);

        // Assert
        Assert.That(found, Is.EqualTo(new[] { 8, 44 }));
    }

    [Test]
    public void Calibrate_SecondCandidateWorks_ItIsTheField()
    {
        // Arrange: two candidates; only a reset of the one at 44 keeps the faults page faults.
        OldExceptionProbe.Result Run(int? offset) => offset switch
        {
            null => Plain([14, 8], (8, 44)),
            44 => Plain([14, 14, 14]),
            _ => Plain([14, 8]),
        };

        // Act
        OldExceptionField field = OldExceptionField.Calibrate(Run, "test engine");

        // Assert
        Assert.That(field.Offset, Is.EqualTo(44));
        Assert.That(field.ContextSize, Is.EqualTo(Size));
    }

    [Test]
    public void Calibrate_EngineResetsItItself_NoResetNeeded()
    {
        OldExceptionField field = OldExceptionField.Calibrate(_ => Plain([14, 14, 14]), "test engine");

        Assert.That(field.IsNeeded, Is.False);
    }

    [Test]
    public void Calibrate_NoCandidate_FailsNamingTheEngineAndWhatItSaw()
    {
        Assert.That(
            () => OldExceptionField.Calibrate(_ => Plain([14, 8]), "Unicorn 9.9.9 from test"),
            Throws.TypeOf<CpuEngineUnavailableException>().With.Message.Contains("Calibrating the CPU engine (Unicorn 9.9.9 from test) failed")
                .And.Message.Contains("no 32-bit field of the saved context (64 bytes) went from -1 to 14"));
    }

    [Test]
    public void Calibrate_NoCandidateHelps_FailsNamingTheOffsets()
    {
        Assert.That(
            () => OldExceptionField.Calibrate(offset => offset is null ? Plain([14, 8], (4, 12)) : Plain([14, 8]), "test engine"),
            Throws.TypeOf<CpuEngineUnavailableException>().With.Message.Contains("offsets 4, 12").And.Message.Contains("double fault"));
    }

    [Test]
    public void Calibrate_NoPageFaultAtAll_FailsNamingTheVectors()
    {
        Assert.That(
            () => OldExceptionField.Calibrate(_ => Plain([13]), "test engine"),
            Throws.TypeOf<CpuEngineUnavailableException>().With.Message.Contains("raised vectors [13], not a page fault"));
    }

    /// <summary>A run that raised <paramref name="vectors"/>; the fields at <paramref name="candidates"/> went from -1 to 14.</summary>
    private static OldExceptionProbe.Result Plain(int[] vectors, params int[] candidates)
    {
        byte[] before = Filled(0);
        byte[] after = Filled(0);
        foreach (int offset in candidates)
        {
            Put(before, offset, -1, after, 14);
        }

        return new OldExceptionProbe.Result(vectors, before, after, Size);
    }

    private static OldExceptionProbe.Result Plain(int[] vectors, (int A, int B) candidates) => Plain(vectors, candidates.A, candidates.B);

    private static byte[] Filled(byte value) => Enumerable.Repeat(value, Size).ToArray();

    private static void Put(byte[] before, int offset, int was, byte[] after, int became)
    {
        BinaryPrimitives.WriteInt32LittleEndian(before.AsSpan(offset), was);
        BinaryPrimitives.WriteInt32LittleEndian(after.AsSpan(offset), became);
    }
}
