// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver.Tests.Privilege;

/// <summary>The calibration that finds the engine's current-privilege-level field in a saved context.</summary>
public sealed class PrivilegeLevelFieldTests
{
    private const int Size = 64;

    [Test]
    public void Calibrated_OnTheLoadedEngine_FindsTheFieldThatLetsRdmsrRunAfterIretqToRing3()
    {
        // Act: the real calibration, on the engine the build copied (Unicorn 2.1.1).
        PrivilegeLevelField field = PrivilegeLevelField.Calibrated;
        PrivilegeLevelProbe.Result plain = PrivilegeLevelProbe.Run(null);
        PrivilegeLevelProbe.Result patched = PrivilegeLevelProbe.Run(field.Offset);

        // Assert: at ring 3 RDMSR faults again when retried; with CPL 0 written it runs and the guest reaches HLT.
        TestContext.Out.WriteLine($"CPL at offset {field.Offset} of a {field.ContextSize}-byte context");
        Assert.That(plain.Vectors, Is.EqualTo(new[] { 13 }), "the engine's IRETQ reached ring 3: RDMSR raised #GP");
        Assert.That(plain.ReachedHalt, Is.False);
        Assert.That(patched.Vectors, Is.EqualTo(new[] { 13 }));
        Assert.That(patched.ReachedHalt, Is.True);
    }

    [Test]
    public void Candidates_LowBitsFromZeroToThree_FewestOtherChangesFirst()
    {
        byte[] before = new byte[Size];
        byte[] after = new byte[Size];
        Put(before, 8, 0x10, after, 0x23);    // a candidate with other bits changed (a selector)
        Put(before, 20, 0x4030, after, 0x4033); // the likeliest: only the low bits changed
        Put(before, 32, 0x1, after, 0x3);     // low bits were not 0
        Put(before, 44, 0x0, after, 0x2);     // did not become 3

        List<int> found = PrivilegeLevelField.Candidates(before, after);

        Assert.That(found, Is.EqualTo(new[] { 20, 8 }));
    }

    [Test]
    public void Calibrate_NoCandidateLowersThePrivilege_FailsNamingTheEngine()
    {
        byte[] before = new byte[Size];
        byte[] after = new byte[Size];
        Put(before, 8, 0x10, after, 0x13);
        var plain = new PrivilegeLevelProbe.Result([13], before, after, Size, false);

        var ex = Assert.Throws<CpuEngineUnavailableException>(() => PrivilegeLevelField.Calibrate(_ => plain, "Unicorn 9.9.9 from test"));

        Assert.That(ex!.Message, Does.Contain("Unicorn 9.9.9 from test").And.Contain("offsets 8").And.Contain("ring 3"));
    }

    [Test]
    public void Calibrate_NoFaultAtRing3_FailsSayingWhatItSaw()
    {
        var plain = new PrivilegeLevelProbe.Result([], new byte[Size], new byte[Size], Size, true);

        var ex = Assert.Throws<CpuEngineUnavailableException>(() => PrivilegeLevelField.Calibrate(_ => plain, "test engine"));

        Assert.That(ex!.Message, Does.Contain("raised vectors []"));
    }

    private static void Put(byte[] before, int offset, uint b, byte[] after, uint a)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(before.AsSpan(offset), b);
        BinaryPrimitives.WriteUInt32LittleEndian(after.AsSpan(offset), a);
    }
}
