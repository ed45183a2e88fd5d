// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Guests;

/// <summary>Puts a guest into a VM's memory and says where each core starts.</summary>
public interface IGuestLoader
{
    /// <summary>A one-line description (e.g. "flat64 image.bin at 0x100000").</summary>
    string Description { get; }

    /// <summary>Loads the guest. Throws <see cref="GuestImageException"/> naming the problem; changes nothing then.</summary>
    IReadOnlyList<CoreStart> Load(VirtualMachine vm);

    /// <summary>Cores the guest runs on when the user does not say (<c>--cores</c>); one by default.</summary>
    int DefaultCores => 1;

    /// <summary>Symbols of the loaded guest as a debugger names them (<c>module!name</c>), for scripts; none by default.</summary>
    IReadOnlyDictionary<string, ulong> Symbols => new Dictionary<string, ulong>();

    /// <summary>
    /// The symbols that name addresses (<c>ln</c>, <c>u</c>): every definition, names that repeat included (static
    /// functions of the same name in different files), each at its own address; by default <see cref="Symbols"/>.
    /// </summary>
    IReadOnlyList<(string Name, ulong Address)> AddressSymbols => [.. Symbols.Select(s => (s.Key, s.Value))];

    /// <summary>True when the guest runs on a machine with APICs (<see cref="VmConfiguration.Apic"/>); false by default.</summary>
    bool WantsApic => false;

    /// <summary>The RAM this guest gets when the user does not choose (null: the VM's default).</summary>
    ulong? DefaultMemoryBytes => null;
}
