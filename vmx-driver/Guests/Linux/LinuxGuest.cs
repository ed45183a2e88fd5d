// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.VmxDriver.Internal.Engine;

namespace HyperDbgRemote.VmxDriver.Guests.Linux;

/// <summary>
/// Boots a Linux bzImage by the 64-bit boot protocol (boot.rst, "64-bit Boot Protocol"): the protected-mode kernel at
/// 1 MiB, boot_params with the e820 map QEMU's <c>pc</c> machine gives, the command line, the initrd high in RAM, a
/// BIOS data area saying what SeaBIOS says (639 KiB of base memory, the EBDA at 0x9FC00), identity-mapped page tables,
/// and a short entry stub (<see cref="LinuxEntryStub"/>) that enters startup_64 in the state the protocol requires.
/// </summary>
public sealed class LinuxGuest : IGuestLoader
{
    /// <summary>The command line used when none is given: the console on COM1 as QEMU's -nographic, the legacy
    /// XT-PIC interrupt path (no APICs, no ACPI), and no address-space randomisation so System.map addresses hold.</summary>
    public const string DefaultCommandLine = "console=ttyS0 earlyprintk=serial,ttyS0,115200 noapic nolapic acpi=off nokaslr";

    /// <summary>The command line used when none is given on a machine with APICs (<c>apic=on</c>): the default one without
    /// <c>noapic nolapic</c>, so the kernel uses the local APIC and the I/O APIC the MP table describes (ACPI stays off:
    /// the machine has no ACPI tables).</summary>
    public const string ApicCommandLine = "console=ttyS0 earlyprintk=serial,ttyS0,115200 acpi=off nokaslr";

    /// <summary>RAM a Linux guest gets when the user does not choose (what the QEMU comparison uses: -m 256).</summary>
    public const ulong DefaultRamBytes = 256UL * 1024 * 1024;

    private const ulong BdaEbdaSegment = 0x40E;
    private const ulong BdaBaseMemoryKiB = 0x413;
    private const ulong OneGiB = 1UL << 30;

    private readonly byte[]? _initrd;
    private readonly SystemMap? _map;
    private readonly Lazy<IReadOnlyDictionary<string, ulong>> _symbols;
    private readonly Lazy<IReadOnlyList<(string Name, ulong Address)>> _addressSymbols;

    /// <summary>A kernel, an optional initrd and map, and the command line.</summary>
    public LinuxGuest(BzImage kernel, byte[]? initrd, string commandLine, SystemMap? map = null, string? initrdName = null, bool apic = false)
    {
        Apic = apic;
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(commandLine);
        CheckCommandLine(commandLine);
        Kernel = kernel;
        _initrd = initrd is { Length: > 0 } ? initrd : null;
        _map = map;
        _symbols = new Lazy<IReadOnlyDictionary<string, ulong>>(() => map is null
            ? new Dictionary<string, ulong>()
            : map.Symbols.ToDictionary(s => "linux!" + s.Key, s => s.Value, StringComparer.Ordinal));
        _addressSymbols = new Lazy<IReadOnlyList<(string Name, ulong Address)>>(() => map is null
            ? []
            : [.. map.Entries.Select(e => ("linux!" + e.Name, e.Address))]);
        CommandLine = commandLine;
        Description = $"linux {kernel.Name}" + (initrd is null ? string.Empty : $", initrd {initrdName ?? "(memory)"}") +
            (kernel.KernelVersion.Length > 0 ? $" ({kernel.KernelVersion.Split(' ')[0]})" : string.Empty);
    }

    /// <summary>Reads the files; <paramref name="initrdPath"/> and <paramref name="mapPath"/> are optional.</summary>
    /// <exception cref="GuestImageException">A file is missing, unreadable, too large or not what it should be.</exception>
    public static LinuxGuest FromFiles(string kernelPath, string? initrdPath, string? commandLine = null, string? mapPath = null, bool apic = false)
    {
        BzImage kernel = BzImage.FromFile(kernelPath);
        byte[]? initrd = initrdPath is null ? null : ImageFile.Read(initrdPath, "initrd", (long)VmConfiguration.MaximumMemoryBytes);
        SystemMap? map = mapPath is null ? null : SystemMap.FromFile(mapPath);
        return new LinuxGuest(kernel, initrd, commandLine ?? (apic ? ApicCommandLine : DefaultCommandLine), map, initrdPath, apic);
    }

    /// <summary>True when the guest boots on a machine with APICs (<c>apic=on</c>): the loader then writes the MP table.</summary>
    public bool Apic { get; }

    /// <inheritdoc/>
    public bool WantsApic => Apic;

    /// <summary>The kernel.</summary>
    public BzImage Kernel { get; }

    /// <summary>The kernel command line.</summary>
    public string CommandLine { get; }

    /// <inheritdoc/>
    public string Description { get; }

    /// <inheritdoc/>
    public ulong? DefaultMemoryBytes => DefaultRamBytes;

    /// <summary>System.map's symbols as <c>linux!name</c> (built once).</summary>
    public IReadOnlyDictionary<string, ulong> Symbols => _symbols.Value;

    /// <summary>Every line of System.map as <c>linux!name</c>, repeated names included (built once).</summary>
    public IReadOnlyList<(string Name, ulong Address)> AddressSymbols => _addressSymbols.Value;

    /// <summary>The kernel's System.map, if one was given.</summary>
    public SystemMap? Map => _map;

    /// <summary>Where things went in the last <see cref="Load"/>.</summary>
    public LinuxBootLayout? Layout { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<CoreStart> Load(VirtualMachine vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (Apic && !vm.Configuration.Apic)
        {
            throw new GuestImageException("The Linux guest asks for APICs (apic=on) but the VM has none (VmConfiguration.Apic is false).");
        }

        if (vm.Configuration.Cores != 1 && !(Apic && vm.Configuration.Apic))
        {
            throw new GuestImageException(
                $"A Linux guest on {vm.Configuration.Cores} cores needs APICs: give the option apic=on (--guest 'linux,apic=on'). Linux starts its "
                + "application processors with INIT and start-up IPIs from the local APIC, and without APICs it runs on 1 core.");
        }

        byte[] commandLine = Encoding.ASCII.GetBytes(CommandLine);
        LinuxBootLayout layout = LinuxBootLayout.Compute(Kernel, vm.Memory.RamSize, _initrd?.Length ?? 0, commandLine.Length);
        if (layout.KernelEnd > OneGiB)
        {
            throw new GuestImageException($"'{Kernel.Name}' needs memory up to 0x{layout.KernelEnd:X}, beyond the 1 GiB the boot page tables map.");
        }

        // Everything is checked: from here on the VM's memory is written.
        GuestMemory memory = vm.Memory;
        memory.Load(LinuxBootLayout.KernelLoadAddress, Kernel.ProtectedModeKernel);
        if (_initrd is not null)
        {
            memory.Load(layout.InitrdAddress, _initrd);
        }

        memory.Load(LinuxBootLayout.BootParamsAddress, BootParams.Build(Kernel, layout, E820Map.ForRam(memory.RamSize)));
        memory.Load(LinuxBootLayout.CommandLineAddress, [.. commandLine, 0]);
        memory.TryWrite(BdaEbdaSegment, (ushort)(E820Map.EbdaAddress >> 4));
        memory.TryWrite(BdaBaseMemoryKiB, (ushort)(E820Map.EbdaAddress / 1024));
        memory.TryWrite(E820Map.EbdaAddress, (byte)1); // the EBDA's first byte: its size in KiB
        if (vm.Configuration.Apic)
        {
            CpuidResult leaf1 = Internal.Execution.CpuidTable.Lookup(1, 0, 0, apic: true);
            memory.Load(MpTable.FloatingPointerAddress, MpTable.Build(vm.Configuration.Cores, leaf1.Eax, leaf1.Edx));
        }

        ulong cr3 = IdentityMap.Build(memory, LinuxBootLayout.PageTablesAddress);
        memory.Load(
            LinuxBootLayout.EntryStubAddress,
            LinuxEntryStub.Build(LinuxBootLayout.EntryStubAddress, LinuxBootLayout.Entry64, LinuxBootLayout.BootParamsAddress, LinuxBootLayout.StackTop));
        Layout = layout;
        vm.OsProfile = LinuxGuestOsProfile.ForMap(_map);
        // The bootstrap processor enters the kernel; the application processors wait for the start-up IPIs the kernel
        // sends them (its real-mode trampoline), as on a PC after the BIOS.
        var starts = new List<CoreStart>
        {
            new(CoreStartMode.Long64, 0, LinuxBootLayout.EntryStubAddress, LinuxBootLayout.StackTop, cr3, LinuxBootLayout.PageTablesAddress + IdentityMap.GdtOffset),
        };
        for (int i = 1; i < vm.Configuration.Cores; i++)
        {
            starts.Add(new CoreStart(CoreStartMode.WaitForStartup, 0, 0, 0));
        }

        return starts;
    }

    private static void CheckCommandLine(string commandLine)
    {
        foreach (char c in commandLine)
        {
            if (c is < ' ' or > '~')
            {
                throw new GuestImageException($"The kernel command line may hold printable ASCII only; it has the character U+{(int)c:X4}.");
            }
        }
    }
}
