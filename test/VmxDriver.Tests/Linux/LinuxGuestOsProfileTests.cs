// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

/// <summary>
/// The Linux profile on a small VM laid out as the kernel lays itself out: the kernel image mapped at
/// 0xffffffff80000000 (2 MiB pages onto physical 0), BTF at __start_BTF, a per-CPU area whose current_task points at a
/// task_struct. The synthetic BTF puts pid at +0x10, tgid at +0x14 and comm at +0x28.
/// </summary>
public sealed class LinuxGuestOsProfileTests
{
    private const ulong KernelBase = 0xFFFF_FFFF_8000_0000;
    private const ulong BtfAt = 0x20_0000;
    private const ulong PerCpuAt = 0x30_0000;
    private const ulong CurrentTaskOffset = 0x1FB80;
    private const ulong TaskAt = 0x40_0000;
    private const ulong InitTaskAt = 0x40_1000;
    private const ulong TablesAt = 0x50_0000;

    private TestVm _t = null!;

    [SetUp]
    public void SetUp()
    {
        _t = TestVm.Create64(a => a.hlt());
        _t.Run(); // the core in long mode with paging, stopped at its HLT
        MapKernelHalf();
        WriteTask(TaskAt, pid: 0x2A, tgid: 0x29, "sh");
        WriteTask(InitTaskAt, pid: 0, tgid: 0, "swapper");
        Assert.That(_t.Vm.Memory.TryWrite(PerCpuAt + CurrentTaskOffset, KernelBase + TaskAt), Is.True);
    }

    [TearDown]
    public void TearDown() => _t.Dispose();

    [Test]
    public void Current_KernelModeGsBase_ReadsTheTaskCurrentTaskPointsAt()
    {
        // Arrange
        LinuxGuestOsProfile profile = Profile(BtfBuilder.TaskStruct().Build());
        _t.Core0.WriteRegister(GuestRegister.GsBase, KernelBase + PerCpuAt);

        // Act
        GuestProcess p = profile.Current(_t.Core0);

        // Assert: the process id is tgid, the thread id pid
        Assert.That(p, Is.EqualTo(new GuestProcess(0x29, 0x2A, "sh")));
        Assert.That(profile.Description, Is.EqualTo("linux (task_struct from BTF: pid +0x10, tgid +0x14, comm +0x28)"));
    }

    [Test]
    public void Current_UserGsBaseInGs_TakesThePerCpuBaseFromKernelGsBase()
    {
        // Arrange: kernel mode with the user's GS base still loaded (an entry before its SWAPGS)
        LinuxGuestOsProfile profile = Profile(BtfBuilder.TaskStruct().Build());
        _t.Core0.WriteRegister(GuestRegister.GsBase, 0x7FFF_0000);
        _t.Core0.WriteMsr(LinuxGuestOsProfile.MsrKernelGsBase, KernelBase + PerCpuAt);

        // Act
        GuestProcess p = profile.Current(_t.Core0);

        // Assert
        Assert.That(p, Is.EqualTo(new GuestProcess(0x29, 0x2A, "sh")));
    }

    [Test]
    public void Current_NoPerCpuBaseYet_IsInitTask()
    {
        // Arrange: early boot, GS base 0 (startup_64 has not set it)
        LinuxGuestOsProfile profile = Profile(BtfBuilder.TaskStruct().Build());

        // Act
        GuestProcess p = profile.Current(_t.Core0);

        // Assert
        Assert.That(p, Is.EqualTo(new GuestProcess(0, 0, "swapper")));
    }

    [Test]
    public void Current_KernelNotMapped_IsTheBootTaskUntilItIs()
    {
        // Arrange: the map says BTF is in a page nothing maps (the decompressor's identity map)
        LinuxGuestOsProfile profile = Profile(BtfBuilder.TaskStruct().Build(), btfAddress: 0xFFFF_FFFF_C000_0000);
        _t.Core0.WriteRegister(GuestRegister.GsBase, KernelBase + PerCpuAt);

        // Act
        GuestProcess p = profile.Current(_t.Core0);

        // Assert
        Assert.That(p, Is.EqualTo(new GuestProcess(0, 0, LinuxGuestOsProfile.BootTaskName)));
        Assert.That(profile.Description, Does.Contain("BTF not read yet"));
        Assert.That(profile.Layout, Is.Null);
    }

    [Test]
    public void Current_MalformedBtf_AnswersCr3BasedAndSaysWhy()
    {
        // Arrange: the right magic, then a type section longer than the blob
        byte[] blob = BtfBuilder.TaskStruct().Build(b => b[12] = 0xFF);
        LinuxGuestOsProfile profile = Profile(blob);
        _t.Core0.WriteRegister(GuestRegister.GsBase, KernelBase + PerCpuAt);

        // Act
        GuestProcess p = profile.Current(_t.Core0);

        // Assert
        Assert.That(p, Is.EqualTo(new DefaultGuestOsProfile().Current(_t.Core0)));
        Assert.That(profile.Description, Does.StartWith("CR3-based (BTF: "));
    }

    [Test]
    public void Current_NoBtfAtTheAddress_GivesUpAfterTheLimitOfAddressSpaces()
    {
        // Arrange: zeros where BTF should be, seen in MaximumAttempts address spaces (CR3 values)
        LinuxGuestOsProfile profile = Profile(new byte[64]);
        _t.Core0.WriteRegister(GuestRegister.GsBase, KernelBase + PerCpuAt);
        ulong cr3 = _t.Core0.ReadRegister(GuestRegister.Cr3);

        // Act
        var names = new List<string>();
        for (int i = 0; i < LinuxGuestOsProfile.MaximumAttempts; i++)
        {
            names.Add(profile.Current(_t.Core0).Name);
            names.Add(profile.Current(_t.Core0).Name); // the same address space again: not another attempt
            _t.Core0.WriteRegister(GuestRegister.Cr3, cr3 | ((ulong)((i + 1) & 1) << 3)); // the same tables, another CR3 value
        }

        // Assert
        Assert.That(names.Take(names.Count - 2), Is.All.EqualTo(LinuxGuestOsProfile.BootTaskName));
        Assert.That(names.TakeLast(2), Is.All.StartWith("cr3:"));
        Assert.That(profile.Description, Does.Contain($"no BTF at 0x{KernelBase + BtfAt:x} after {LinuxGuestOsProfile.MaximumAttempts} address spaces (bad magic)"));
    }

    [Test]
    public void Current_CurrentTaskPointsAtGarbage_AnswersCr3BasedForThatQuestion()
    {
        // Arrange
        LinuxGuestOsProfile profile = Profile(BtfBuilder.TaskStruct().Build());
        _t.Core0.WriteRegister(GuestRegister.GsBase, KernelBase + PerCpuAt);
        Assert.That(_t.Vm.Memory.TryWrite(PerCpuAt + CurrentTaskOffset, 0xFFFF_FFFF_F000_0000UL), Is.True); // unmapped

        // Act
        GuestProcess garbage = profile.Current(_t.Core0);
        Assert.That(_t.Vm.Memory.TryWrite(PerCpuAt + CurrentTaskOffset, 0x1234UL), Is.True); // a user address
        GuestProcess user = profile.Current(_t.Core0);

        // Assert
        Assert.That(garbage.Name, Does.StartWith("cr3:"));
        Assert.That(user.Name, Does.StartWith("cr3:"));
        Assert.That(profile.Layout, Is.Not.Null, "the layout stays: only that question had no answer");
    }

    [Test]
    public void Current_CommWithoutTerminatorOrUnprintable_IsBoundedAndPrintable()
    {
        // Arrange
        LinuxGuestOsProfile profile = Profile(BtfBuilder.TaskStruct().Build());
        _t.Core0.WriteRegister(GuestRegister.GsBase, KernelBase + PerCpuAt);
        _t.Vm.Memory.Load(TaskAt + 0x28, [.. Enumerable.Repeat((byte)'A', 16), (byte)'B']);
        _t.Vm.Memory.Load(TaskAt + 0x28, [(byte)'\n', 0xFF]);

        // Act
        GuestProcess p = profile.Current(_t.Core0);

        // Assert
        Assert.That(p.Name, Is.EqualTo("??" + new string('A', 14)));
    }

    [Test]
    public void ForMap_WithoutMapOrBtfSymbols_IsCr3BasedAndSaysWhy()
    {
        // Arrange
        SystemMap noBtf = SystemMap.Parse("ffffffff81000000 T _stext\n000000000001fb80 A current_task\n", "map");
        SystemMap noCurrent = SystemMap.Parse("ffffffff82000000 R __start_BTF\nffffffff82100000 R __stop_BTF\nffffffff82a00000 D init_task\n", "map");

        // Act / Assert
        Assert.That(LinuxGuestOsProfile.ForMap(null).Description, Is.EqualTo("CR3-based (no System.map: give map=PATH to read Linux tasks)"));
        Assert.That(LinuxGuestOsProfile.ForMap(noBtf).Description, Is.EqualTo("CR3-based (map has no __start_BTF/__stop_BTF: the kernel carries no BTF)"));
        Assert.That(LinuxGuestOsProfile.ForMap(noCurrent).Description, Is.EqualTo("CR3-based (map has no per-CPU current_task or pcpu_hot)"));
        Assert.That(LinuxGuestOsProfile.ForMap(null).Current(_t.Core0), Is.EqualTo(new DefaultGuestOsProfile().Current(_t.Core0)));
    }

    private LinuxGuestOsProfile Profile(byte[] btf, ulong btfAddress = KernelBase + BtfAt)
    {
        _t.Vm.Memory.Load(BtfAt, btf);
        string map = $"{btfAddress:x16} R __start_BTF\n{btfAddress + (ulong)btf.Length:x16} R __stop_BTF\n" +
            $"{CurrentTaskOffset:x16} A current_task\n{KernelBase + InitTaskAt:x16} D init_task\n";
        return LinuxGuestOsProfile.ForMap(SystemMap.Parse(map, "map"));
    }

    private void WriteTask(ulong at, uint pid, uint tgid, string comm)
    {
        Assert.That(_t.Vm.Memory.TryWrite(at + 0x10, pid) && _t.Vm.Memory.TryWrite(at + 0x14, tgid), Is.True);
        _t.Vm.Memory.Load(at + 0x28, [.. Encoding.ASCII.GetBytes(comm), 0]);
    }

    /// <summary>PML4[511] → PDPT[510] → a page directory of 2 MiB pages: 0xffffffff80000000 + x maps to x (16 MiB).</summary>
    private void MapKernelHalf()
    {
        GuestMemory m = _t.Vm.Memory;
        ulong pml4 = _t.Core0.ReadRegister(GuestRegister.Cr3) & ~0xFFFUL;
        const ulong pdpt = TablesAt;
        const ulong pd = TablesAt + 0x1000;
        Assert.That(m.TryWrite(pml4 + (511 * 8), pdpt | 3) && m.TryWrite(pdpt + (510 * 8), pd | 3), Is.True);
        for (ulong i = 0; i < 8; i++)
        {
            Assert.That(m.TryWrite(pd + (i * 8), (i << 21) | 0x83), Is.True);
        }
    }
}
