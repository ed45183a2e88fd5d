// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>The calibration that finds the engine's SVM intercept fields (and TSC offset) in a saved context.</summary>
public sealed class InterceptFieldsTests
{
    [Test]
    public void Calibrated_OnTheLoadedEngine_FindsFieldsThatMakeInterceptedInstructionsExitAtTheirRip()
    {
        // Act: the real calibration, on the engine the build copied (Unicorn 2.1.1).
        InterceptFields fields = InterceptFields.Calibrated;
        InterceptProbe.Fields f = fields.Fields;
        InterceptProbe.Verification verified = InterceptProbe.Verify(f);

        // Assert
        TestContext.Out.WriteLine($"{f} in a {fields.ContextSize}-byte context");
        Assert.That(f.GuestMask, Is.EqualTo(1u << 21), "QEMU's HF_GUEST_MASK");
        Assert.That(f.ExceptionIsInt, Is.Not.Null, "the engine keeps INT n's record: an exit after an INT n would report the instruction after the INT");
        Assert.That(InterceptFields.Passes(verified), Is.True, string.Join(", ", verified.Exits.Select(e => $"0x{e.Vector:X}@0x{e.Rip:X}")));
    }

    [Test]
    public void Verify_WithoutClearingTheSoftwareInterruptRecord_TheExitAfterAnIntNReportsTheInstructionAfterTheInt()
    {
        // Arrange: the calibrated fields, but the INT's record left alone.
        InterceptProbe.Fields f = InterceptFields.Calibrated.Fields with { ExceptionIsInt = null };

        // Act
        InterceptProbe.Verification v = InterceptProbe.Verify(f);

        // Assert: the RDTSC's exit (the last) shows RIP at the NOP after the INT, not at the RDTSC: the engine fact the
        // clearing after each delivered exception works around.
        Assert.That(v.Exits[^1], Is.EqualTo((0x16E, InterceptProbe.CodeAddress + InterceptProbe.IntOffset + 2)));
        Assert.That(InterceptFields.Passes(v), Is.False);
    }

    [Test]
    public void Candidates_OnlyFieldsThatTookTheValue_AtTheirAlignment()
    {
        // Arrange
        byte[] before = new byte[64];
        byte[] after = new byte[64];
        BitConverter.TryWriteBytes(after.AsSpan(8), 0x1234UL);   // took it
        BitConverter.TryWriteBytes(before.AsSpan(24), 0x1234UL); // had it already
        BitConverter.TryWriteBytes(after.AsSpan(24), 0x1234UL);
        BitConverter.TryWriteBytes(after.AsSpan(41), 0x1234UL);  // unaligned

        // Act
        List<int> found = InterceptFields.Candidates(before, after, 0x1234, 8, 4);

        // Assert
        Assert.That(found, Is.EqualTo(new[] { 8 }));
    }

    [Test]
    public void Calibrate_VmrunDoesNotReachTheHlt_FailsNamingTheEngine()
    {
        // Arrange: an engine whose VMRUN is #UD (no SVM).
        InterceptProbe.Observation Observe() => new([], [], [], [6], UcConst.ErrInsnInvalid, InterceptProbe.CodeAddress + 2);

        // Act
        var ex = Assert.Throws<CpuEngineUnavailableException>(() => InterceptFields.Calibrate(Observe, _ => throw new InvalidOperationException("not reached"), "TestEngine 9.9"));

        // Assert
        Assert.That(ex!.Message, Does.Contain("TestEngine 9.9").And.Contain("VMRUN").And.Contain("0x6"));
    }
}
