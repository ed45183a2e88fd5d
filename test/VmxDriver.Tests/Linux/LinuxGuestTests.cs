// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using HyperDbgRemote.VmxDriver.Guests;
using HyperDbgRemote.VmxDriver.Guests.Linux;

namespace HyperDbgRemote.VmxDriver.Tests.Linux;

public sealed class LinuxGuestTests
{
    private const ulong MiB = 1024 * 1024;
    private string _dir = string.Empty;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("hdr-linux").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Test]
    public void Load_FakeKernel_PutsEverythingWhereTheLayoutSays()
    {
        // Arrange
        byte[] image = new FakeBzImage().Build();
        byte[] initrd = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        var guest = new LinuxGuest(BzImage.Parse(image, "k"), initrd, "console=ttyS0 quiet");
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 256 * MiB });

        // Act
        IReadOnlyList<CoreStart> starts = guest.Load(vm);

        // Assert
        LinuxBootLayout layout = guest.Layout!;
        Assert.That(starts, Has.Count.EqualTo(1));
        Assert.That(starts[0], Is.EqualTo(new CoreStart(CoreStartMode.Long64, 0, LinuxBootLayout.EntryStubAddress, LinuxBootLayout.StackTop, 0x7_0000, 0x7_0000 + IdentityMap.GdtOffset)));
        Assert.That(LinuxBootLayout.EntryStubAddress, Is.GreaterThanOrEqualTo(LinuxBootLayout.PageTablesAddress + IdentityMap.TablesSize), "the entry stub lies after the page tables");
        Assert.That(Read(vm, 0x10_0000, 4096), Is.EqualTo(image.AsSpan(5 * 512, 4096).ToArray()), "protected-mode kernel at 1 MiB");
        Assert.That(Read(vm, layout.InitrdAddress, initrd.Length), Is.EqualTo(initrd));
        Assert.That(Encoding.ASCII.GetString(Read(vm, 0x2_0000, 20)), Is.EqualTo("console=ttyS0 quiet\0"));
        byte[] zp = Read(vm, 0x1_0000, 4096);
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zp.AsSpan(0x218)), Is.EqualTo((uint)layout.InitrdAddress));
        Assert.That(vm.Memory.TryRead(0x40E, out ushort ebda) && ebda == 0x9FC0, Is.True, "BDA: EBDA segment as SeaBIOS sets it");
        Assert.That(vm.Memory.TryRead(0x413, out ushort baseKiB) && baseKiB == 639, Is.True, "BDA: 639 KiB of base memory");
        Assert.That(vm.Memory.TryRead(0x7_0000, out ulong pml4) && (pml4 & ~0xFFFUL) == 0x7_1000, Is.True, "identity map at 0x70000");
        Assert.That(guest.DefaultMemoryBytes, Is.EqualTo(256 * MiB));
    }

    [Test]
    public void Load_TwoCoresWithoutApics_IsRefusedNamingTheApicOption_AndWritesNothing()
    {
        var guest = new LinuxGuest(new FakeBzImage().Parse(), null, LinuxGuest.DefaultCommandLine);
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 256 * MiB, Cores = 2 });
        Assert.That(() => guest.Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("2 cores needs APICs: give the option apic=on"));
        Assert.That(Read(vm, 0x10_0000, 512).All(b => b == 0), Is.True, "nothing written");
    }

    [Test]
    public void Load_TwoCoresApicOn_TheBootstrapProcessorEntersTheKernel_TheOtherWaitsForSipi_AndTheMpTableListsBoth()
    {
        // Arrange
        var guest = new LinuxGuest(new FakeBzImage().Parse(), null, LinuxGuest.ApicCommandLine, apic: true);
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 256 * MiB, Cores = 2, Apic = true });

        // Act
        IReadOnlyList<CoreStart> starts = guest.Load(vm);

        // Assert: the MP table's processor entries (type 0) follow its 44-byte header: APIC IDs 0 and 1, the BSP flag on 0.
        Assert.That(starts.Select(s => s.Mode), Is.EqualTo(new[] { CoreStartMode.Long64, CoreStartMode.WaitForStartup }));
        byte[] entries = Read(vm, MpTable.ConfigurationAddress + 44, 40);
        Assert.That((entries[0], entries[1], entries[3]), Is.EqualTo(((byte)0, (byte)0, (byte)3)), "processor 0: enabled, bootstrap");
        Assert.That((entries[20], entries[21], entries[23]), Is.EqualTo(((byte)0, (byte)1, (byte)1)), "processor 1: enabled");
    }

    [Test]
    public void Load_ApicOn_PutsTheMpTableInTheBiosArea_ButNotOnAVmWithoutApics()
    {
        var guest = new LinuxGuest(new FakeBzImage().Parse(), null, LinuxGuest.ApicCommandLine, apic: true);
        using var plain = new VirtualMachine(new VmConfiguration { MemoryBytes = 256 * MiB });
        Assert.That(() => guest.Load(plain), Throws.TypeOf<GuestImageException>().With.Message.Contains("apic=on"));
        Assert.That(plain.Memory.TryRead(MpTable.FloatingPointerAddress, out uint nothing) && nothing == 0, Is.True, "a refused load writes nothing");

        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 256 * MiB, Apic = true });
        guest.Load(vm);
        Assert.That(guest.WantsApic, Is.True);
        Assert.That(Encoding.ASCII.GetString(Read(vm, MpTable.FloatingPointerAddress, 4)), Is.EqualTo("_MP_"));
        Assert.That(Encoding.ASCII.GetString(Read(vm, MpTable.ConfigurationAddress, 4)), Is.EqualTo("PCMP"));
        Assert.That(LinuxGuest.ApicCommandLine, Does.Not.Contain("noapic").And.Not.Contain("nolapic").And.Contain("acpi=off"));
    }

    [Test]
    public void Load_RamTooSmall_ChangesNoMemory()
    {
        // Arrange
        var guest = new LinuxGuest(new FakeBzImage().Parse(), new byte[4096], LinuxGuest.DefaultCommandLine);
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = 64 * MiB });

        // Act / Assert
        Assert.That(() => guest.Load(vm), Throws.TypeOf<GuestImageException>().With.Message.Contains("--memory"));
        Assert.That(Read(vm, 0x10_0000, 512).All(b => b == 0) && Read(vm, 0x1_0000, 4096).All(b => b == 0), Is.True, "nothing written");
    }

    [Test]
    public void Constructor_CommandLineWithControlCharacter_IsRefused() =>
        Assert.That(
            () => new LinuxGuest(new FakeBzImage().Parse(), null, "console=ttyS0\ninit=/bin/sh"),
            Throws.TypeOf<GuestImageException>().With.Message.Contains("U+000A"));

    [Test]
    public void FromFiles_KernelIsADirectory_SaysDirectory() =>
        Assert.That(() => LinuxGuest.FromFiles(_dir, null), Throws.TypeOf<GuestImageException>().With.Message.Contains("is a directory"));

    [Test]
    public void FromFiles_KernelMissing_SaysDoesNotExist()
    {
        string path = Path.Combine(_dir, "vmlinuz-none");
        Assert.That(() => LinuxGuest.FromFiles(path, null), Throws.TypeOf<GuestImageException>().With.Message.Contains(path).And.Message.Contains("does not exist"));
    }

    [Test]
    public void FromFiles_DevZero_IsRefusedWithoutReading() =>
        Assert.That(() => LinuxGuest.FromFiles("/dev/zero", null), Throws.TypeOf<GuestImageException>().With.Message.Contains("not a regular file"));

    [Test]
    public void FromFiles_InitrdIsAFifo_IsRefusedWithoutBlocking()
    {
        // Arrange: a FIFO nobody writes to; opening it for reading would block forever.
        string kernel = Write("vmlinuz", new FakeBzImage().Build());
        string fifo = Path.Combine(_dir, "initrd.fifo");
        using (Process mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.That(mkfifo.ExitCode, Is.Zero, "mkfifo");
        }

        // Act / Assert
        Assert.That(() => LinuxGuest.FromFiles(kernel, fifo), Throws.TypeOf<GuestImageException>().With.Message.Contains(fifo).And.Message.Contains("not a regular file"));
    }

    [Test]
    public void FromFiles_NotABzImage_SaysSo()
    {
        string path = Write("notes.txt", Encoding.ASCII.GetBytes(new string('x', 5000)));
        Assert.That(() => LinuxGuest.FromFiles(path, null), Throws.TypeOf<GuestImageException>().With.Message.Contains("is not a bzImage"));
    }

    [Test]
    public void FromFiles_DebiansPlaceholderMap_SaysWhereTheRealOneIs()
    {
        string kernel = Write("vmlinuz", new FakeBzImage().Build());
        string map = Write("System.map", "ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n"u8.ToArray());
        Assert.That(() => LinuxGuest.FromFiles(kernel, null, null, map), Throws.TypeOf<GuestImageException>().With.Message.Contains("placeholder").And.Message.Contains("build.sh deps"));
    }

    [Test]
    public void SystemMap_BadLine_NamesFileAndLine() =>
        Assert.That(
            () => SystemMap.Parse("ffffffff81000000 T _stext\nnot-hex T start_kernel\n", "m.map"),
            Throws.TypeOf<GuestImageException>().With.Message.StartsWith("m.map:2:"));

    [Test]
    public void SystemMap_Lines_BecomeLinuxSymbols()
    {
        // Arrange
        SystemMap map = SystemMap.Parse("000000000001fb80 A current_task\nffffffff81000000 T _stext\nffffffff83079e46 T start_kernel\nffffffff81001000 t dup\nffffffff81002000 t dup\nffffffffc0000000 t mod_fn\t[ext4]\n", "m");
        var guest = new LinuxGuest(new FakeBzImage().Parse(), null, LinuxGuest.DefaultCommandLine, map);

        // Assert
        Assert.That(guest.Symbols["linux!start_kernel"], Is.EqualTo(0xFFFF_FFFF_8307_9E46UL));
        Assert.That(guest.Symbols["linux!current_task"], Is.EqualTo(0x1_FB80UL));
        Assert.That(guest.Symbols["linux!dup"], Is.EqualTo(0xFFFF_FFFF_8100_1000UL), "the first definition wins");
        Assert.That(guest.Symbols["linux!mod_fn"], Is.EqualTo(0xFFFF_FFFF_C000_0000UL));
        Assert.That(guest.AddressSymbols.Where(s => s.Name == "linux!dup").Select(s => s.Address), Is.EqualTo(new[] { 0xFFFF_FFFF_8100_1000UL, 0xFFFF_FFFF_8100_2000UL }), "each definition names its own address");
    }

    [Test]
    public void FromFiles_DebiansKernelAndInitramfs_LoadIn256MiB()
    {
        // Arrange
        LinuxGuest guest = LinuxGuest.FromFiles(LinuxFiles.KernelOrIgnore(), LinuxFiles.InitramfsOrIgnore(), null, LinuxFiles.SystemMapOrIgnore());
        using var vm = new VirtualMachine(new VmConfiguration { MemoryBytes = guest.DefaultMemoryBytes!.Value });

        // Act
        guest.Load(vm);

        // Assert: where QEMU -m 256 puts the same initramfs (its log: RAMDISK: [mem 0x0fee4000-0x0ffdffff]).
        Assert.That(guest.Layout!.InitrdAddress, Is.EqualTo(((256 * MiB) - 0x2_0000 - 1 - guest.Layout.InitrdSize) & ~0xFFFUL));
        Assert.That(guest.Symbols, Contains.Key("linux!start_kernel"));
        Assert.That(guest.CommandLine, Is.EqualTo(LinuxGuest.DefaultCommandLine));
    }

    private static byte[] Read(VirtualMachine vm, ulong address, int length)
    {
        var bytes = new byte[length];
        Assert.That(vm.Memory.Read(address, bytes), Is.EqualTo(length));
        return bytes;
    }
}
