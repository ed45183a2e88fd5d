// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>The BTF reader and the task_struct layout it gives, on synthetic blobs (good and hostile) and on the BTF of
/// the kernel this machine runs (/sys/kernel/btf/vmlinux), a real blob of the same format as the guest's.</summary>
public sealed class BtfTests
{
    [Test]
    public void TryFrom_SyntheticTaskStruct_FindsPidTgidAndCommThroughTypedefsAndAnAnonymousStruct()
    {
        // Arrange
        byte[] blob = BtfBuilder.TaskStruct().Build();

        // Act
        bool parsed = Btf.TryParse(blob, out Btf? btf, out string? error);
        bool found = TaskStructLayout.TryFrom(btf!, out TaskStructLayout? layout, out string? why);

        // Assert
        Assert.That(parsed, Is.True, error);
        Assert.That(found, Is.True, why);
        Assert.That(layout, Is.EqualTo(new TaskStructLayout(0x10, 0x14, 0x28, 16, null)));
    }

    [Test]
    public void TryFrom_PcpuHot_GivesCurrentTasksOffsetInIt()
    {
        // Arrange: a 6.2+ kernel keeps current_task in struct pcpu_hot
        BtfBuilder b = BtfBuilder.TaskStruct();
        int ptr = b.Pointer(0);
        b.Struct("pcpu_hot", 64, ("preempt_count", 1, 0), ("current_task", ptr, 64));
        Assert.That(Btf.TryParse(b.Build(), out Btf? btf, out string? error), Is.True, error);

        // Act
        bool found = TaskStructLayout.TryFrom(btf!, out TaskStructLayout? layout, out string? why);

        // Assert
        Assert.That(found, Is.True, why);
        Assert.That(layout!.PcpuHotCurrentTask, Is.EqualTo(8));
    }

    [Test]
    public void TryFrom_HostKernelsBtf_FindsTaskStructMembers()
    {
        // Arrange
        const string path = "/sys/kernel/btf/vmlinux";
        if (!File.Exists(path))
        {
            Assert.Ignore("skipped: this machine's kernel exposes no BTF at " + path);
        }

        byte[] blob = File.ReadAllBytes(path);

        // Act
        bool parsed = Btf.TryParse(blob, out Btf? btf, out string? error);
        bool found = TaskStructLayout.TryFrom(btf!, out TaskStructLayout? layout, out string? why);

        // Assert: comm is TASK_COMM_LEN bytes and tgid follows pid (include/linux/sched.h)
        Assert.That(parsed, Is.True, error);
        Assert.That(btf!.TypeCount, Is.GreaterThan(10_000));
        Assert.That(found, Is.True, why);
        Assert.That(layout!.CommLength, Is.EqualTo(16));
        Assert.That(layout.TgidOffset, Is.EqualTo(layout.PidOffset + 4));
        Assert.That(layout.CommOffset, Is.GreaterThan(layout.TgidOffset));
    }

    private static IEnumerable<TestCaseData> HostileHeaders()
    {
        yield return Case("magic", b => b[0] = 0x9E, "magic 0xEB9E");
        yield return Case("version", b => b[2] = 2, "version 2 is not 1");
        yield return Case("header length", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 8), "do not fit");
        yield return Case("types past the end", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), uint.MaxValue), "do not fit");
        yield return Case("strings past the end", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), 0xFFFF_FFF0), "do not fit");
        yield return Case("empty strings", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(20), 0), "do not fit");
        yield return Case("a cut record", b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(12)) - 4), "runs past the type section");

        static TestCaseData Case(string name, Action<byte[]> patch, string error) =>
            new TestCaseData(patch, error).SetName($"TryParse_Hostile_{name.Replace(' ', '_')}_IsAnError");
    }

    [TestCaseSource(nameof(HostileHeaders))]
    public void TryParse_HostileHeader_IsAnErrorNamingIt(Action<byte[]> patch, string expected)
    {
        // Arrange
        byte[] blob = BtfBuilder.TaskStruct().Build(patch);

        // Act
        bool parsed = Btf.TryParse(blob, out Btf? btf, out string? error);

        // Assert
        Assert.That(parsed, Is.False);
        Assert.That(btf, Is.Null);
        Assert.That(error, Does.Contain(expected));
    }

    [Test]
    public void TryParse_TooShortOrTooLong_IsAnError()
    {
        Assert.That(Btf.TryParse(new byte[10], out _, out string? shortError), Is.False);
        Assert.That(shortError, Does.Contain("shorter than its header"));
        Assert.That(Btf.TryParse(new byte[Btf.MaximumBytes + 1], out _, out string? longError), Is.False);
        Assert.That(longError, Does.Contain("more than"));
    }

    [Test]
    public void TryParse_MembersCountPastTheSection_OrAnUnknownKind_IsAnError()
    {
        // Arrange: a struct claiming 65,535 members, and a kind 31
        var many = new BtfBuilder();
        many.Raw(0, (4u << 24) | 0xFFFF, 8);
        var unknown = new BtfBuilder();
        unknown.Raw(0, 31u << 24, 0);

        // Act / Assert
        Assert.That(Btf.TryParse(many.Build(), out _, out string? e1), Is.False);
        Assert.That(e1, Does.Contain("65535 entries) runs past the type section"));
        Assert.That(Btf.TryParse(unknown.Build(), out _, out string? e2), Is.False);
        Assert.That(e2, Does.Contain("unknown kind"));
    }

    [Test]
    public void TryFrom_TypedefCycleAndSelfNestingAnonymousStruct_AreBoundedAndNotFound()
    {
        // Arrange: typedef 1 → 1; an anonymous member whose type is the struct itself
        var b = new BtfBuilder();
        int loop = b.Typedef("loop", 1);
        b.Raw(0, (4u << 24) | 1, 8, 0, 2, 0); // type 2: struct { <anonymous> of type 2 }
        b.Struct("task_struct", 64, ("pid", loop, 0), (null, 2, 32));
        Assert.That(Btf.TryParse(b.Build(), out Btf? btf, out string? error), Is.True, error);

        // Act
        bool resolved = btf!.TryResolve(loop, out _);
        bool found = TaskStructLayout.TryFrom(btf, out _, out string? why);

        // Assert
        Assert.That(resolved, Is.False);
        Assert.That(found, Is.False);
        Assert.That(why, Does.Contain("task_struct.pid is missing or not a 4-byte integer"));
        Assert.That(btf.TryFindMember(3, "nothing", out _, out _), Is.False, "the self-nesting struct is walked to the bound");
    }

    [Test]
    public void TryFrom_BadMembers_SayWhich()
    {
        var b = new BtfBuilder();
        int i32 = b.Int("int", 4);
        int i8 = b.Int("char", 1);
        int longComm = b.Array(i8, i32, 65);
        b.Struct("task_struct", 0x100, ("pid", i32, 0), ("tgid", i32, 32), ("comm", longComm, 64));
        var bits = new BtfBuilder();
        int j32 = bits.Int("int", 4);
        bits.BitfieldStruct("task_struct", 8, ("pid", j32, 3u << 24), ("tgid", j32, 32)); // pid: a 3-bit field
        var outside = new BtfBuilder();
        int k32 = outside.Int("int", 4);
        outside.Struct("task_struct", 8, ("pid", k32, 0), ("tgid", k32, 64));
        var missing = new BtfBuilder();
        missing.Fwd("task_struct");

        Assert.That(Layout(b.Build()), Does.Contain("task_struct.comm"));
        Assert.That(Layout(bits.Build()), Does.Contain("task_struct.pid"));
        Assert.That(Layout(outside.Build()), Does.Contain("task_struct.tgid"));
        Assert.That(Layout(missing.Build()), Is.EqualTo("BTF has no struct task_struct"));
    }

    [Test]
    public void TryParse_NameOffsetsOutsideTheStrings_FindNothing()
    {
        var b = new BtfBuilder();
        b.Raw(0xFFFF_FFF0, 4u << 24, 8); // a struct named at an offset past the string section
        Assert.That(Btf.TryParse(b.Build(), out Btf? btf, out string? error), Is.True, error);
        Assert.That(btf!.TryFindStruct("task_struct", out _), Is.False);
    }

    [Test]
    public void TryParse_SeededMutations_NeverThrow([Values(1, 2, 3, 4)] int seed)
    {
        // Arrange
        byte[] good = BtfBuilder.TaskStruct().Build();
        var random = new Random(seed);

        // Act / Assert: each mutated blob is parsed and queried; any outcome but an exception is fine
        for (int i = 0; i < 2000; i++)
        {
            byte[] blob = (byte[])good.Clone();
            for (int n = random.Next(1, 6); n > 0; n--)
            {
                blob[random.Next(blob.Length)] = (byte)random.Next(256);
            }

            Assert.DoesNotThrow(() => Layout(blob), $"seed {seed}, mutation {i}");
        }
    }

    private static string Layout(byte[] blob) =>
        !Btf.TryParse(blob, out Btf? btf, out string? error) ? error
        : TaskStructLayout.TryFrom(btf, out TaskStructLayout? layout, out error) ? layout.ToString() : error;
}
