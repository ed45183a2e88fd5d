// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// An interrupt request line from a device to the interrupt controller. A device drives its level; whether the
/// controller reacts to the rising edge or to the level is the controller's setting (the 8259's ELCR), as on a PC.
/// Safe to call from any thread.
/// </summary>
public interface IInterruptLine
{
    /// <summary>Drives the line high (true) or low (false).</summary>
    void SetLevel(bool high);

    /// <summary>Drives the line high.</summary>
    void Raise() => SetLevel(true);

    /// <summary>Drives the line low.</summary>
    void Lower() => SetLevel(false);
}
